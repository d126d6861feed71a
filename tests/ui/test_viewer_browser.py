"""The viewer in a real browser: Debian's chromium driven by playwright against `panel serve`."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..ports import free_port, wait_for_port
from ..viewer.conftest import make_config

pytestmark = pytest.mark.ui
REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]



@pytest.fixture
def served_viewer(viewer_data, tmp_path):
    config = make_config(viewer_data, f"ui-{tmp_path.name}.toml")
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(REPO / "apps" / "viewer.py"), "--port", str(port),
                             "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}", "--args", "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}/viewer"
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        yield page
        browser.close()


def map_pixels(page) -> bytes:
    # The sky map is the first bokeh canvas plot on the page.
    return page.locator(".bk-Canvas").first.screenshot()


def wait_for_change(page, before: bytes, timeout: float = 30.0) -> bytes:
    deadline = time.time() + timeout
    while time.time() < deadline:
        now = map_pixels(page)
        if now != before:
            return now
        time.sleep(0.2)
    raise AssertionError("the map's image did not change")


def monitor_text(page) -> str:
    return page.get_by_text("hits ·").first.inner_text()


def test_switch_catalogs_map_changes_and_second_visit_hits(served_viewer, page, tmp_path):
    page.goto(served_viewer)
    page.get_by_text("Cache monitor").wait_for(timeout=60_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    time.sleep(2)  # let the first aggregate arrive
    both = map_pixels(page)
    page.get_by_role("button", name="PZWAV", exact=True).click()
    pzwav = wait_for_change(page, both)
    assert pzwav != both
    page.get_by_role("button", name="BOTH", exact=True).click()
    wait_for_change(page, pzwav)
    deadline = time.time() + 15  # the monitor refreshes every second on its own
    while time.time() < deadline and not monitor_text(page).startswith("1 hits"):
        time.sleep(0.3)
    text = monitor_text(page)
    assert text.startswith("1 hits") and "2 loads" in text, text
    shot = Path(os.environ.get("VIZCACHE_SCREENSHOT_DIR", tmp_path)) / "viewer.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_unknown_catalog_in_url_shows_a_notification(served_viewer, page):
    page.goto(served_viewer + "?catalog=../../etc/passwd")
    note = page.locator(".notyf__message").first
    note.wait_for(timeout=60_000)
    assert "Unknown catalog '../../etc/passwd'" in note.inner_text()
    page.get_by_text("Cache monitor").wait_for(timeout=30_000)  # and the viewer still works
