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
