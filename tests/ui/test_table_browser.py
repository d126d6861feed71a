"""Sorting the table in a real browser sorts every row in view, not the page shown."""

from pathlib import Path

import pandas as pd
import pytest

from vizcache.catalogs.schema import EUCLID_COLUMNS

from ..waiting import wait_until

pytestmark = pytest.mark.ui


def first_cell(page, field):
    return page.locator(f".tabulator-row .tabulator-cell[tabulator-field={field}]").first.inner_text()


def test_sort_by_snr_puts_the_brightest_in_view_on_top(viewer_data, served_viewer, page):
    snr = pd.read_parquet(Path(viewer_data) / "data" / "small" / "both.parquet", columns=[EUCLID_COLUMNS["clusters"]["snr"]]).iloc[:, 0]
    page.goto(served_viewer, timeout=120_000)
    page.locator(".tabulator-row").first.wait_for(timeout=60_000)
    header = page.locator(".tabulator-col[tabulator-field=snr] .tabulator-col-title").first

    def descending():
        if page.locator(".tabulator-col[tabulator-field=snr]").first.get_attribute("aria-sort") == "descending":
            return True
        header.click()  # none, then ascending, then descending: one click per check, the page's answer between them
        return False

    wait_until(descending, interval=1.5, message="the snr column sorted descending")
    wait_until(lambda: float(first_cell(page, "snr")) == pytest.approx(snr.max(), abs=1e-3), timeout=20, interval=0.3,
               message="the brightest cluster on top")
    assert "," not in first_cell(page, "id")  # ids without thousands separators
    # The next page continues the order over all rows (page 1 held the 12 brightest).
    page.get_by_role("button", name="▶").click()
    twelfth = snr.sort_values(ascending=False).iloc[12]
    wait_until(lambda: float(first_cell(page, "snr")) == pytest.approx(twelfth, abs=1e-3), timeout=20, interval=0.3,
               ignore=(ValueError,), message="page 2 starting at the 13th brightest")  # a cell being redrawn reads empty
