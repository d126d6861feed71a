"""The finder comparison tab in a real browser: counts in the legend, filter the table by match class."""

import os
from pathlib import Path

import pytest

from ..waiting import wait_until

pytestmark = pytest.mark.ui


def test_comparison_tab_shows_counts_and_filters_the_table(served_viewer, page, tmp_path):
    page.goto(served_viewer, timeout=120_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    page.locator(".bk-tab", has_text="Finder comparison").click()
    summary = page.get_by_text("Completeness of PZWAV", exact=False).first
    summary.wait_for(timeout=60_000)
    text = summary.inner_text()
    assert "PZWAV" in text and "AMICO" in text and "only in PZWAV" in text, text
    page.get_by_role("button", name="only B", exact=True).click()
    cells = page.locator(".tabulator-cell[tabulator-field=match]")
    cells.first.wait_for(timeout=30_000)
    wait_until(lambda: set(cells.all_inner_texts()) == {"only B"}, message="the table filtered to only B")
    shot = Path(os.environ.get("VIZCACHE_SCREENSHOT_DIR", tmp_path)) / "finder-comparison.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
