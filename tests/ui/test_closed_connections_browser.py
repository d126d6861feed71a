"""Page navigations in a real browser: each closed connection is one quiet line in the server's log, no
traceback; Panel logs each ended session (what the load benchmark counts); the page works under the CSP."""

import re
from urllib.parse import urlsplit

import pytest

from ..waiting import wait_until

pytestmark = pytest.mark.ui

NAVIGATIONS = 8


def wait_for_log(log_path, pattern: str, count: int, timeout: float = 60.0) -> str:
    """The server's log once ``pattern`` occurs ``count`` times in it; AssertionError after ``timeout``."""
    def enough():
        text = log_path.read_text(errors="replace")
        return text if len(re.findall(pattern, text, re.MULTILINE)) >= count else None

    return wait_until(enough, timeout=timeout, interval=0.2, message=f"{pattern!r} {count} times in the server log {log_path}")


def test_navigating_away_mid_stream_logs_one_quiet_line_per_closed_connection(viewer_data, tmp_path, serve_viewer, page, monkeypatch):
    from ..viewer.conftest import make_config

    monkeypatch.setenv("PANEL_LOG_LEVEL", "info")  # Panel's "Session N destroyed" lines (the server inherits it)
    url = serve_viewer(make_config(viewer_data, f"closed-{tmp_path.name}.toml"), "--unused-session-lifetime", "1000",
                       "--check-unused-sessions", "500")
    log_path = tmp_path / f"server-{urlsplit(url).port}.log"  # where serve_viewer writes it
    csp_errors = []
    page.on("console", lambda message: "Content Security Policy" in message.text and csp_errors.append(message.text))
    for i in range(NAVIGATIONS + 1):
        # Away as soon as the map is there: the histograms, table and monitor are still being sent.
        page.goto(url + f"?catalog={('AMICO', 'PZWAV')[i % 2]}", timeout=120_000)
        page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    log = wait_for_log(log_path, r"Session \d+ destroyed$", NAVIGATIONS)  # the pages left, ended by the server
    assert len(re.findall(r"WebSocket connection closed", log)) == NAVIGATIONS  # one line per closed connection
    assert "Traceback" not in log and "never retrieved" not in log and "Failed sending message" not in log, log[-3000:]
    assert csp_errors == [] and page.outside == []
