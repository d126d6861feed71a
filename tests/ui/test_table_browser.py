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
    wait_until(lambda: float(first_cell(page, "snr")) == pytest.approx(snr.max(), abs=5e-3), timeout=20, interval=0.3,  # 2 decimals
               message="the brightest cluster on top")
    assert "," not in first_cell(page, "id")  # ids without thousands separators
    # The next page continues the order over all rows (page 1 held the 12 brightest).
    page.get_by_role("button", name="▶").click()
    twelfth = snr.sort_values(ascending=False).iloc[12]
    wait_until(lambda: float(first_cell(page, "snr")) == pytest.approx(twelfth, abs=5e-3), timeout=20, interval=0.3,
               ignore=(ValueError,), message="page 2 starting at the 13th brightest")  # a cell being redrawn reads empty


#: every cell and header of a Tabulator whose text is wider than the room it has: (field, text)
CLIPPED_JS = """t => Array.from(t.querySelectorAll(
    '.tabulator-row .tabulator-cell[tabulator-field], .tabulator-col[tabulator-field] .tabulator-col-title'))
  .filter(e => e.scrollWidth > e.clientWidth)
  .map(e => [(e.closest('[tabulator-field]') || e).getAttribute('tabulator-field'), e.innerText])"""


def test_numbers_in_the_table_show_in_full_on_every_page(viewer_data, served_viewer, page):
    # Tabulator kept the widths of the first page it got: a later page's SNR of 21.044024 after 7.317827
    # (or an RA of 359.8 after 9.8) was cut, at 1440 px.
    both = pd.read_parquet(Path(viewer_data) / "data" / "small" / "both.parquet").rename(
        columns={source: canonical for canonical, source in EUCLID_COLUMNS["clusters"].items()})
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(served_viewer, timeout=120_000)
    page.locator(".tabulator-row").first.wait_for(timeout=60_000)
    table = page.locator(".tabulator:has(.tabulator-col[tabulator-field=snr])").first
    for field in ("snr", "ra", "richness"):
        header = table.locator(f".tabulator-col[tabulator-field={field}] .tabulator-col-title")
        for direction in ("ascending", "descending"):
            def sorted_so(field=field, direction=direction, header=header):
                if table.locator(f".tabulator-col[tabulator-field={field}]").get_attribute("aria-sort") == direction:
                    return True
                header.click()
                return False

            wait_until(sorted_so, interval=1.5, message=f"{field} sorted {direction}")
            top = both[field].max() if direction == "descending" else both[field].min()
            decimals = {"snr": 2, "ra": 5, "richness": 1}[field]
            def on_top(field=field, top=top, decimals=decimals):  # the catalog is held as float32: within a last digit
                text = first_cell(page, field)
                return len(text.partition(".")[2]) == decimals and abs(float(text) - top) <= 1.5 * 10**-decimals

            wait_until(on_top, timeout=20, interval=0.3, ignore=(ValueError,), message=f"the {direction} {field} on top, {decimals} decimals")
            assert table.evaluate(CLIPPED_JS) == [], (field, direction, table.evaluate(CLIPPED_JS))
