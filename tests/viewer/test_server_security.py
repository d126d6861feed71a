"""A real viewer server process: security headers on every response (page, static file, error), however
it was started; no session list served; closed connections filtered from the logs, other errors not."""

import io
import logging
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

from vizcache.viewer.server_setup import SECURITY_HEADERS, ClosedConnectionFilter

from ..ports import free_port, wait_for_port
from .conftest import make_config

REPO = Path(__file__).resolve().parents[2]


def fetch(url: str) -> tuple[int, dict, str]:
    """Status, headers and body of a GET, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("utf-8", "replace")


def assert_security_headers(headers: dict, what: str) -> None:
    assert {name: headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS, what
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]


@pytest.fixture
def start_server(tmp_path):
    """start_server(*command) -> base URL of ``python -m *command`` ("PORT" replaced by a free port), stopped (SIGTERM) after the test."""
    procs = []

    def start(*command: str) -> str:
        port = free_port()
        log = (tmp_path / f"server-{port}.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", *(str(port) if part == "PORT" else part for part in command)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        procs.append((proc, log))
        wait_for_port(port)
        return f"http://127.0.0.1:{port}"

    yield start
    for proc, log in procs:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def test_panel_serve_sends_security_headers_on_the_page_static_files_and_errors(viewer_data, tmp_path, start_server):
    config = make_config(viewer_data, f"headers-{tmp_path.name}.toml")
    base = start_server("panel", "serve", str(REPO / "apps" / "viewer.py"), "--port", "PORT", "--address", "127.0.0.1",
                        "--args", "--config", str(config))
    status, headers, page = fetch(base + "/viewer")  # the first page: the app installs the headers while building it
    assert status == 200 and "test viewer" in page
    assert_security_headers(headers, "page")
    scripts = re.findall(r'src="(static/js/bokeh[^"]*\.js[^"]*)"', page)
    assert scripts, "the page loads BokehJS from the server"
    for url, what in ((f"{base}/{scripts[0]}", "static"), (f"{base}/viewer?catalog=AMICO", "second page"), (f"{base}/no-such-page", "404")):
        status, headers, _ = fetch(url)
        assert status == (404 if what == "404" else 200), what
        assert_security_headers(headers, what)


def test_vizcache_serve_sends_them_from_its_first_request_and_serves_no_session_list(viewer_data, tmp_path, start_server):
    config = make_config(viewer_data, f"headers-cli-{tmp_path.name}.toml")
    base = start_server("vizcache.cli", "serve", "--config", str(config), "--port", "PORT")
    status, headers, _ = fetch(base + "/static/js/bokeh.min.js")  # before any page: installed at start (--setup)
    assert status == 200
    assert_security_headers(headers, "static before the first page")
    status, headers, page = fetch(base + "/viewer")
    assert status == 200 and "test viewer" in page
    assert_security_headers(headers, "page")
    status, headers, _ = fetch(base + "/rest/session_info")  # live session ids would let a client drive another's page
    assert status == 404
    assert_security_headers(headers, "404")


def _record(message: str, level: int = logging.ERROR, error: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(error), error, error.__traceback__) if error is not None else None
    return logging.LogRecord("asyncio", level, __file__, 1, message, (), exc_info)


def _raised_from(error: BaseException, cause: BaseException) -> BaseException:
    error.__context__ = cause  # raised while handling ``cause``, as tornado's write wrapper raises WebSocketClosedError
    return error


def test_the_closed_connection_filter_drops_only_closed_connection_noise():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ClosedConnectionFilter())
    for record in (_record("Task exception was never retrieved", error=_raised_from(WebSocketClosedError(), StreamClosedError())),
                   _record("Error in a callback", error=_raised_from(RuntimeError("write failed"), WebSocketClosedError())),
                   _record("Exception in callback", error=StreamClosedError()),
                   _record("Failed sending message as connection was closed", logging.WARNING)):
        handler.handle(record)
    assert stream.getvalue() == ""
    handler.handle(_record("Task exception was never retrieved", error=ValueError("a real bug")))
    handler.handle(_record("Failed sending message due to following error: disk full", logging.WARNING))
    logged = stream.getvalue()
    assert "ValueError: a real bug" in logged and "disk full" in logged
