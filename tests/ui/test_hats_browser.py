"""A HATS catalog in a real browser: zooming the map loads partitions, each one entry in the cache monitor."""

import time

import pytest

from vizcache.catalogs.partition import PartitionSettings, generated_members_spec, partition_catalog

from ..viewer.conftest import CONFIG, make_config

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
    page.goto(url + "?catalog=MEMBERS_HATS")
    page.get_by_text("Cache monitor").wait_for(timeout=60_000)
    canvas = page.locator(".vizcache-skymap .bk-Canvas").first
    canvas.wait_for(timeout=60_000)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5)
    partitions = []
    deadline = time.time() + 120  # a loaded 2-core machine: the monitor may lag
    while time.time() < deadline and not partitions:
        page.mouse.wheel(0, -300)  # zoom in: the view's partitions are read and drawn
        time.sleep(1.5)  # the monitor refreshes every second
        partitions = page.get_by_text("MEMBERS_HATS Norder=").all()
    assert partitions, page.inner_text("body")[:2000]
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
    page.goto(url + "?catalog=MEMBERS_HATS&z=[0.4,0.9]")
    page.get_by_text("Cache monitor").wait_for(timeout=60_000)
    page.locator(".vizcache-skymap .bk-Canvas").first.wait_for(timeout=60_000)
    counted = []
    deadline = time.time() + 120
    while time.time() < deadline and not counted:
        time.sleep(1.5)  # the monitor refreshes every second
        counted = page.get_by_text("rows per order-8 pixel z 0.4-0.9").all()
    assert counted, [t.inner_text() for t in page.get_by_text("MEMBERS_HATS").all()]
    assert page.locator(".vizcache-skymap .bk-Canvas").first.is_visible() and page.outside == []
