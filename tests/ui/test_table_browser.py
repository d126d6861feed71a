"""Sorting the table in a real browser sorts every row in view, not the page shown."""

import time
from pathlib import Path

import pandas as pd
import pytest

from vizcache.catalogs.schema import EUCLID_COLUMNS

pytestmark = pytest.mark.ui


def first_cell(page, field):
    return page.locator(f".tabulator-row .tabulator-cell[tabulator-field={field}]").first.inner_text()


def test_sort_by_snr_puts_the_brightest_in_view_on_top(viewer_data, served_viewer, page):
    snr = pd.read_parquet(Path(viewer_data) / "data" / "small" / "both.parquet", columns=[EUCLID_COLUMNS["clusters"]["snr"]]).iloc[:, 0]
    page.goto(served_viewer, timeout=120_000)
    page.locator(".tabulator-row").first.wait_for(timeout=60_000)
    header = page.locator(".tabulator-col[tabulator-field=snr] .tabulator-col-title").first
    deadline = time.time() + 30
    while time.time() < deadline:
        header.click()
        time.sleep(1.5)
        if page.locator(".tabulator-col[tabulator-field=snr]").first.get_attribute("aria-sort") == "descending":
            break
    deadline = time.time() + 20
    while time.time() < deadline and float(first_cell(page, "snr")) != pytest.approx(snr.max(), abs=1e-3):
        time.sleep(0.3)
    assert float(first_cell(page, "snr")) == pytest.approx(snr.max(), abs=1e-3)
    assert "," not in first_cell(page, "id")  # ids without thousands separators
    # The next page continues the order over all rows (page 1 held the 12 brightest).
    page.get_by_role("button", name="▶").click()
    time.sleep(2)
    twelfth = snr.sort_values(ascending=False).iloc[12]
    assert float(first_cell(page, "snr")) == pytest.approx(twelfth, abs=1e-3)
