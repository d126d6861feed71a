"""Selection in a real browser: markers selected on the map fill the table and its CSV; a clicked row is ringed on the map."""

from pathlib import Path

import pandas as pd
import pytest

from vizcache.catalogs.schema import EUCLID_COLUMNS

from ..waiting import wait_until
from .bokeh_map import monitor_counts, scatter_data, select_markers, set_view, wait_for_map, wait_for_markers

pytestmark = pytest.mark.ui
CANONICAL = {source: canonical for canonical, source in EUCLID_COLUMNS["clusters"].items()}


def test_selected_markers_fill_the_table_and_csv_and_a_row_click_rings_its_cluster(viewer_data, served_viewer, page, tmp_path):
    both = pd.read_parquet(Path(viewer_data) / "data" / "small" / "both.parquet").rename(columns=CANONICAL)
    target = both.loc[both["snr"].idxmax()]
    box = (float(target["ra"]) - 3, float(target["ra"]) + 3), (float(target["dec"]) - 2, float(target["dec"]) + 2)
    inside = both[both["ra"].between(*box[0]) & both["dec"].between(*box[1])]
    assert len(inside) >= 4
    page.goto(served_viewer, timeout=120_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    wait_for_map(page)
    # The page whole first: the monitor and the table arriving later re-lay it out, and a new view clears a selection.
    wait_until(lambda: monitor_counts(page), timeout=60, interval=0.3, message="the cache monitor in the page")
    set_view(page, *box)
    data = wait_for_markers(page, lambda d: len(d.get("object", [])) == len(inside))
    page.get_by_text(f"{len(inside):,} rows in view").wait_for(timeout=30_000)
    chosen = [0, 2, 3]
    select_markers(page, chosen)
    page.get_by_text("3 rows selected").wait_for(timeout=20_000)
    ids = {int(data["object"][i].split()[-1]) for i in chosen}
    cells = page.locator(".tabulator-row .tabulator-cell[tabulator-field=id]")
    wait_until(lambda: {int(t) for t in cells.all_inner_texts()} == ids, ignore=(ValueError,),  # a cell being redrawn reads empty
               message="the selected clusters' ids in the table")
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV: 3 selected").click()
    csv = pd.read_csv(download.value.path())
    assert set(csv["id"]) == ids and len(csv) == 3
    # A click on the second row rings that cluster.
    page.locator(".tabulator-row").nth(1).click()
    row_id = int(cells.nth(1).inner_text())
    ring = wait_until(lambda: (ring := scatter_data(page, 1)).get("ra") and ring, timeout=20, interval=0.3, message="the clicked row's ring")
    cluster = both.set_index("id").loc[row_id]
    assert ring["ra"] == pytest.approx([cluster["ra"]], abs=1e-4) and ring["dec"] == pytest.approx([cluster["dec"]], abs=1e-4)
