"""The viewer in a real browser: Debian's chromium driven by playwright against `panel serve`."""

import os
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ui


def map_pixels(page) -> bytes:
    # The sky map is the first bokeh canvas plot on the page.
    return page.locator(".vizcache-skymap .bk-Canvas").first.screenshot()


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
    page.locator(".vizcache-skymap .bk-Canvas").first.wait_for(timeout=60_000)
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


def test_the_page_loads_nothing_from_outside_127_0_0_1(served_viewer, page):
    # Observatory networks are often closed: fonts, scripts and styles must all come from the viewer's server.
    page.goto(served_viewer)
    page.get_by_text("Cache monitor").wait_for(timeout=60_000)
    page.locator(".vizcache-skymap .bk-Canvas").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="all-sky", exact=True).click()
    page.get_by_role("button", name="PZWAV", exact=True).click()
    time.sleep(3)
    assert page.outside == []
