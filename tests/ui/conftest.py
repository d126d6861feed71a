"""A served viewer (`panel serve apps/viewer.py` in a subprocess) and a chromium page that records every request."""

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ..ports import free_port, wait_for_port
from ..viewer.conftest import make_config, viewer_data  # noqa: F401  (the same session-wide small data set)

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def pytest_collection_modifyitems(config, items):
    """Every test in this folder drives a real browser: marked ui (deselected by ``-m "not ui"``) even if its file forgets to."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.ui)


@pytest.fixture
def serve_viewer(tmp_path):
    """serve_viewer(config) -> URL of /viewer on a fresh `panel serve` process, stopped after the test."""
    procs = []

    def serve(config: Path, *extra: str) -> str:
        port = free_port()
        log = (tmp_path / f"server-{port}.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(REPO / "apps" / "viewer.py"), "--port", str(port),
                                 "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}", *extra,
                                 "--args", "--config", str(config)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        procs.append((proc, log))
        wait_for_port(port)
        return f"http://127.0.0.1:{port}/viewer"

    yield serve
    for proc, log in procs:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture
def served_viewer(viewer_data, tmp_path, serve_viewer):
    return serve_viewer(make_config(viewer_data, f"ui-{tmp_path.name}.toml"))


@pytest.fixture
def page():
    """A chromium page; requests to any host but 127.0.0.1 are refused and listed in ``page.outside``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.outside = []

        def route(r):
            if urlsplit(r.request.url).hostname == "127.0.0.1" or r.request.url.startswith(("data:", "blob:")):
                r.continue_()
            else:
                page.outside.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        yield page
        browser.close()
