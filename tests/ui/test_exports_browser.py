"""Exports in a real browser: each format downloaded from the page (the sky map's rows in view, the finder
comparison's table) reads back with astropy with the catalog's own names, its units and the same rows."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io.votable import parse
from astropy.table import Table

from vizcache.catalogs.schema import EUCLID_COLUMNS

from ..waiting import wait_until
from .bokeh_map import set_view, wait_for_map

pytestmark = pytest.mark.ui
ASTROPY_FORMAT = {"VOTable": "votable", "FITS": "fits", "ECSV": "ascii.ecsv"}
SOURCE = EUCLID_COLUMNS["clusters"]


def download(page, label: str) -> Path:
    with page.expect_download(timeout=60_000) as event:
        page.get_by_role("button", name=label, exact=True).click()
    return Path(event.value.path())


def test_each_format_downloads_the_rows_in_view_with_names_units_and_meta(viewer_data, served_viewer, page):
    both = pd.read_parquet(Path(viewer_data) / "data" / "small" / "both.parquet")
    inside = both[both[SOURCE["ra"]].between(40, 60) & both[SOURCE["dec"]].between(-60, -45)]
    page.goto(served_viewer, timeout=120_000)
    page.locator(".tabulator-row").first.wait_for(timeout=60_000)
    wait_for_map(page)
    title = page.locator(".tabulator-col[tabulator-field=ra] .tabulator-col-title").first
    assert title.inner_text() == "ra [deg]"  # the table's headers show units
    set_view(page, (40, 60), (-60, -45))
    page.get_by_text(f"{len(inside):,} rows in view").wait_for(timeout=30_000)
    for fmt, astropy_format in ASTROPY_FORMAT.items():
        path = download(page, fmt)
        table = Table.read(path, format=astropy_format)
        assert table.colnames[:3] == [SOURCE["id"], SOURCE["ra"], SOURCE["dec"]], (fmt, table.colnames)
        assert sorted(table[SOURCE["id"]].tolist()) == sorted(inside[SOURCE["id"]].tolist()), fmt
        assert table[SOURCE["ra"]].unit == "deg" and table[SOURCE["z"]].unit is None, fmt
        got = table.to_pandas().set_index(SOURCE["id"]).sort_index()
        want = inside.set_index(SOURCE["id"]).sort_index()
        assert np.allclose(got[SOURCE["snr"]], want[SOURCE["snr"]]), fmt
    votable = parse(download(page, "VOTable"))
    infos = {info.name: info.value for info in votable.resources[0].tables[0].infos}
    assert infos["catalog"] == "BOTH" and infos["source_files"] == "both.parquet" and infos["view"].startswith("RA 40")


def test_the_finder_comparison_table_downloads_in_each_format(served_viewer, page):
    page.goto(served_viewer, timeout=120_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    page.locator(".bk-tab", has_text="Finder comparison").click()
    summary = page.get_by_text("Completeness of PZWAV", exact=False).first
    summary.wait_for(timeout=60_000)
    matched = int(summary.inner_text().split(" matched")[0].split()[-1].replace(",", ""))  # "... ≤ 0.15: 1,234 matched, ..."
    title = page.locator(".tabulator-col[tabulator-field=sep_arcsec] .tabulator-col-title").first
    wait_until(lambda: title.inner_text() == "sep_arcsec [arcsec]", message="the separation's unit in its header")
    for fmt, astropy_format in ASTROPY_FORMAT.items():
        table = Table.read(download(page, fmt), format=astropy_format)
        classes = [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(table["match"])]
        assert classes.count("matched") == matched, fmt
        assert {"ID_UNIQUE_CLUSTER_PZWAV", "ID_UNIQUE_CLUSTER_AMICO"} <= set(table.colnames), fmt
        assert table["sep_arcsec"].unit == "arcsec", fmt
