"""A HATS catalog in a real browser: zooming the map loads partitions, each one entry in the cache monitor."""

import pytest

from vizcache.catalogs.partition import PartitionSettings, generated_members_spec, partition_catalog

from ..viewer.conftest import CONFIG, make_config
from ..waiting import wait_until

pytestmark = pytest.mark.ui

HATS = '''
[catalogs.MEMBERS_HATS]
files = "data/members_hats_ui"
format = "hats"
kind = "members"
'''


def test_zooming_a_hats_catalog_shows_partitions_as_cache_entries(viewer_data, serve_viewer, page, tmp_path):
    out = viewer_data / "data" / "members_hats_ui"
    if not out.exists():
        partition_catalog(generated_members_spec(viewer_data / "data" / "small"), out,
                          PartitionSettings(max_rows=3_000, highest_order=7, threads=1), progress=False)
    url = serve_viewer(make_config(viewer_data, f"ui-hats-{tmp_path.name}.toml", CONFIG + HATS))
    page.goto(url + "?catalog=MEMBERS_HATS", timeout=120_000)
    page.get_by_text("Cache monitor").wait_for(timeout=60_000)
    canvas = page.locator(".vizcache-skymap .bk-Canvas").first
    canvas.wait_for(timeout=60_000)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5)

    def partitions_listed():
        if partitions := page.get_by_text("MEMBERS_HATS Norder=").all():
            return partitions
        page.mouse.wheel(0, -300)  # zoom in: the view's partitions are read and drawn
        return None

    # the monitor refreshes every second; a loaded 2-core machine: it may lag
    wait_until(partitions_listed, timeout=120, interval=1.5, message="partitions listed in the monitor")
    assert page.locator(".vizcache-skymap .bk-Canvas").first.is_visible() and page.outside == []


def test_a_redshift_filter_zoomed_out_counts_the_passing_rows_through_the_cache(viewer_data, serve_viewer, page, tmp_path):
    out = viewer_data / "data" / "members_hats_ui"
    if not out.exists():
        partition_catalog(generated_members_spec(viewer_data / "data" / "small"), out,
                          PartitionSettings(max_rows=3_000, highest_order=7, threads=1), progress=False)
    # The small preset's 40K rows would all be drawn as rows: a lower max_points keeps the whole sky density.
    url = serve_viewer(make_config(viewer_data, f"ui-hats-z-{tmp_path.name}.toml", CONFIG.replace("[viewer]", "[viewer]\nmax_points = 10000") + HATS))
    # Zoomed out with a redshift filter from the URL: the skymap cannot say which rows pass, so the
    # partitions' passing rows are counted on the server's reading thread, each count a cache entry.
    page.goto(url + "?catalog=MEMBERS_HATS&z=[0.4,0.9]", timeout=120_000)
    page.get_by_text("Cache monitor").wait_for(timeout=60_000)
    page.locator(".vizcache-skymap .bk-Canvas").first.wait_for(timeout=60_000)
    wait_until(lambda: page.get_by_text("rows per order-8 pixel z 0.4-0.9").all(), timeout=120, interval=1.5,  # the monitor: every second
               message="the filtered counts listed in the monitor")
    assert page.locator(".vizcache-skymap .bk-Canvas").first.is_visible() and page.outside == []
