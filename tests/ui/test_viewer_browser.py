"""The viewer in a real browser: Debian's chromium driven by playwright against `panel serve`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..ports import free_port, wait_for_port
from ..viewer.conftest import make_config
from ..waiting import wait_until
from .bokeh_map import monitor_counts, wait_for_map

pytestmark = pytest.mark.ui


def map_pixels(page) -> bytes:
    # The sky map is the first bokeh canvas plot on the page.
    return page.locator(".vizcache-skymap .bk-Canvas").first.screenshot()


def wait_for_change(page, before: bytes, timeout: float = 30.0) -> bytes:
    return wait_until(lambda: (now := map_pixels(page)) != before and now, timeout=timeout, interval=0.2, message="the map's image changed")


def test_switch_catalogs_map_changes_and_second_visit_hits(served_viewer, page, tmp_path):
    page.goto(served_viewer, timeout=120_000)
    page.get_by_text("Cache monitor").wait_for(timeout=60_000)
    page.locator(".vizcache-skymap .bk-Canvas").first.wait_for(timeout=60_000)
    wait_for_map(page, "BOTH")
    both = map_pixels(page)
    page.get_by_role("button", name="PZWAV", exact=True).click()
    pzwav = wait_for_change(page, both)
    assert pzwav != both
    page.get_by_role("button", name="BOTH", exact=True).click()
    wait_for_change(page, pzwav)
    # the monitor refreshes every second on its own
    text = wait_until(lambda: (counts := monitor_counts(page)).startswith("1 hits") and counts, timeout=15, interval=0.3,
                      message="the monitor counting the hit")
    assert "2 loads" in text, text
    shot = Path(os.environ.get("VIZCACHE_SCREENSHOT_DIR", tmp_path)) / "viewer.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_unknown_catalog_in_url_shows_a_notification(served_viewer, page):
    page.goto(served_viewer + "?catalog=../../etc/passwd", timeout=120_000)
    note = page.locator(".notyf__message").first
    note.wait_for(timeout=60_000)
    assert "Unknown catalog '../../etc/passwd'" in note.inner_text()
    page.get_by_text("Cache monitor").wait_for(timeout=30_000)  # and the viewer still works


@pytest.fixture(params=["panel serve", "vizcache serve"])
def either_server(request, viewer_data, tmp_path):
    """The viewer served both ways the README gives: `panel serve apps/viewer.py` and `vizcache serve`."""
    config = make_config(viewer_data, f"ui-{tmp_path.name}.toml")
    if request.param == "panel serve":
        yield request.getfixturevalue("serve_viewer")(config)
        return
    port = free_port()
    with (tmp_path / "vizcache-serve.log").open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "vizcache.cli", "serve", "--config", str(config), "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        try:
            wait_for_port(port, timeout=120)
            yield f"http://127.0.0.1:{port}/viewer"
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_the_page_loads_nothing_from_outside_127_0_0_1(either_server, page):
    # Observatory networks are often closed: fonts, scripts and styles must all come from the viewer's server.
    page.goto(either_server, timeout=120_000)
    page.get_by_text("Cache monitor").wait_for(timeout=60_000)
    page.locator(".vizcache-skymap .bk-Canvas").first.wait_for(timeout=60_000)
    wait_for_map(page, "BOTH")
    page.get_by_role("button", name="all-sky", exact=True).click()
    page.get_by_role("button", name="PZWAV", exact=True).click()
    # Listening (page.outside) until the page has settled: PZWAV's map drawn, the monitor counting its
    # load, the document and its fonts loaded. Then every request the page makes has been made.
    wait_for_map(page, "PZWAV")
    wait_until(lambda: "· 2 loads ·" in monitor_counts(page), timeout=60, message="the monitor counting PZWAV's load")
    wait_until(lambda: page.evaluate("document.readyState === 'complete' && document.fonts.status === 'loaded'"), timeout=60,
               message="the document and its fonts loaded")
    assert page.outside == []
    # Widgets and panes built in a callback carry their own stylesheets (loading.css, markdown.css): the
    # finder comparison's radius and its table filter must not fetch them from a CDN either.
    page.locator(".bk-tab", has_text="Finder comparison").click()
    summary = page.get_by_text("Completeness of PZWAV", exact=False).first
    summary.wait_for(timeout=60_000)
    before = summary.inner_text()
    radius = page.locator(".bk-input-group", has_text="radius [arcsec]").locator("input")
    radius.fill("31")
    radius.press("Enter")
    wait_until(lambda: summary.inner_text() != before, timeout=60, message="the comparison recomputed for the new radius")
    page.get_by_role("button", name="only B", exact=True).click()
    cells = page.locator(".tabulator-cell[tabulator-field=match]")
    wait_until(lambda: set(cells.all_inner_texts()) == {"only B"}, timeout=60, message="the table filtered to only B")
    page.wait_for_load_state("networkidle")
    assert page.outside == []


def test_a_compare_report_opened_from_disk_loads_nothing(page, tmp_path):
    # report.html is mailed around and opened from disk: every script, stylesheet and icon must be in it.
    from vizcache.compare.report import write_report

    from ..compare.test_metrics import document_with, make_run

    runs = [make_run("old", rep) for rep in range(2)] + [make_run("new|er", rep) for rep in range(2)]
    html = write_report(document_with(runs), tmp_path / "report")["html"]
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.route("file://**", lambda route: route.continue_())  # the fixture lets only 127.0.0.1 through; this is the file itself
    page.goto(html.as_uri(), timeout=60_000)
    page.get_by_text("Decision", exact=False).first.wait_for(timeout=60_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")
    assert [url for url in requests if not url.startswith(("file:", "data:", "blob:"))] == []
    assert page.outside == []
