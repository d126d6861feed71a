"""64-bit ids in a real browser: the table's cells, the markers' hover data, the CSV download and the
find box show 18446744073709551615 and 9007199254740993, not their float64 neighbours."""

import csv

import pytest

from ..catalogs.int64_catalogs import UNSIGNED, catalog_config, write_catalog
from .bokeh_figures import table_cells
from .bokeh_map import wait_for_markers
from .test_find_browser import find

pytestmark = pytest.mark.ui


def test_the_browser_shows_uint64_ids_digit_for_digit(tmp_path, serve_viewer, page):
    write_catalog(tmp_path, "parquet", unsigned=True)
    config = tmp_path / "ids.toml"
    config.write_text('[policy]\nname = "AgeBased"\n\n[data]\nfolders = ["."]\n\n' + catalog_config("parquet") + '\n[viewer]\ncatalog = "IDS"\n')
    page.goto(serve_viewer(config), timeout=120_000)
    page.locator(".tabulator-row").first.wait_for(timeout=60_000)
    expected = sorted(str(i) for i in UNSIGNED)
    table = page.locator(".tabulator:has(.tabulator-col[tabulator-field=id])").first
    assert sorted(cell.strip() for cell in table_cells(page, table, "id")) == expected
    # The markers' data as BokehJS holds it (what the hover shows).
    data = wait_for_markers(page, lambda d: len(d.get("object", [])) == 4)
    assert sorted(data["object"]) == sorted(f"id {i}" for i in UNSIGNED)
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV:", exact=False).click()
    with open(download.value.path(), newline="") as f:
        assert sorted(row["id"] for row in csv.DictReader(f)) == expected
    find(page, str(2**53 + 1))
    page.get_by_text(f"1 match(es); showing the first: id {2**53 + 1} (RA", exact=False).wait_for(timeout=10_000)
