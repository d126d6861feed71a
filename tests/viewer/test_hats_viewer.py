"""The viewer on a HATS catalog: density zoomed out, partitions in view as cache entries zoomed in."""

import numpy as np
import pytest

from vizcache.catalogs.partition import (
    PartitionSettings,
    generated_members_spec,
    partition_catalog,
)
from vizcache.config import load_config
from vizcache.trace import read_trace
from vizcache.viewer.hats_layer import HatsLayer
from vizcache.viewer.monitor import CacheMonitor
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap

from .conftest import CONFIG, catalog_image, make_config

HATS = '''
[catalogs.MEMBERS_HATS]
files = "data/members_hats"
format = "hats"
kind = "members"
'''


pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest


@pytest.fixture(scope="module")
def hats_data(viewer_data):
    out = viewer_data / "data" / "members_hats"
    if not out.exists():
        partition_catalog(generated_members_spec(viewer_data / "data" / "small"), out,
                          PartitionSettings(max_rows=3_000, highest_order=7, threads=1), progress=False)
    return viewer_data


@pytest.fixture
def runtime(hats_data, tmp_path):
    config = load_config(make_config(hats_data, f"hats-{tmp_path.name}.toml", CONFIG + HATS))
    return ViewerRuntime(config, sample_every=60)


def partition_keys(runtime):
    return [e["key"] for e in runtime.cache.entries() if len(e["key"].parts) == 1]  # (pixel,)


def test_zoomed_out_shows_density_without_reading_rows(runtime):
    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    total = runtime.sources["MEMBERS_HATS"].open_hats().total_rows
    assert "density" in sky.frame.columns and sky.frame["rows"].sum() == total
    assert sky.aggregation == "mean"  # mean rows per deg² of the HEALPix pixels under a screen pixel
    assert np.isfinite(catalog_image(sky)["image"]).any()
    sky.set_view_ranges((0.0, 360.0), (-90.0, 90.0))  # the whole sky: more rows than max_points?
    assert partition_keys(runtime) == [] or sky.hats.max_points >= total


def test_zooming_in_loads_the_partitions_in_view_as_cache_entries(runtime):
    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    sky.hats.max_points = 10_000  # the small preset's 40k rows: a whole-sky view stays density
    sky.set_view_ranges((0.0, 360.0), (-90.0, 90.0))
    assert "density" in sky.frame.columns and partition_keys(runtime) == []
    sky.set_view_ranges((40.0, 60.0), (-60.0, -45.0))  # inside the south-wide patch
    keys = partition_keys(runtime)
    assert keys and sky.hats.partitions_shown == len(keys) and "density" not in sky.frame.columns
    assert len(sky.frame) == sum(runtime.sources["MEMBERS_HATS"].open_hats().partition_rows()[p] for p in sky.hats._shown)
    assert sky.view is not None and sky.view[0] is sky.frame  # histograms and table follow the rows in view
    assert np.nansum(catalog_image(sky)["image"]) > 0
    # The monitor lists each partition as its own entry.
    monitor = CacheMonitor(runtime=runtime)
    monitor.refresh()
    shown = set(monitor._entries.value["key"])
    assert {f"MEMBERS_HATS {k.parts[0]}" for k in keys} <= shown
    # Out to the whole sky and back: density from the overview, then every partition a hit.
    loads = runtime.cache.counters()["loads"]
    sky.set_view_ranges((0.0, 360.0), (-90.0, 90.0))
    assert "density" in sky.frame.columns
    sky.set_view_ranges((40.0, 60.0), (-60.0, -45.0))
    assert runtime.cache.counters()["loads"] == loads and runtime.cache.counters()["hits"] >= len(keys)
    # Every partition access is in the viewer's trace, for `vizcache compare` to replay.
    runtime.cache.flush_trace()
    rows = [r for r in read_trace(runtime.config.trace) if "Norder=" in r["key"]]
    assert {str(k) for k in keys} <= {r["key"] for r in rows} and any(r["hit"] for r in rows)
    assert all(r["size"] for r in rows if not r["hit"])  # the loader-reported size of each partition


def test_panning_across_ra_zero_and_the_all_sky_projection(runtime):
    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    sky.hats.max_points = 10_000
    sky.set_view_ranges((-8.0, 8.0), (-5.0, 5.0))  # the equatorial patch, across RA 0
    assert "density" not in sky.frame.columns and ((sky.frame["ra"] > 350) | (sky.frame["ra"] < 10)).any()
    sky.projection = "all-sky"
    sky.set_view_ranges((-0.2, 0.2), (-0.1, 0.1))  # the same place in Hammer-Aitoff
    assert "density" not in sky.frame.columns and sky.hats.partitions_shown > 0


def test_layer_parameters_documented_and_bounded():
    own = {n: p for n, p in HatsLayer.param.objects("existing").items() if p.owner is HatsLayer and n != "name"}
    assert set(own) == {"max_points", "workers", "draw_every", "partitions_shown"}
    for name, p in own.items():
        assert p.doc and len(p.doc) > 10 and p.bounds is not None and p.bounds[0] is not None, name


def test_an_unreadable_partition_is_a_notification_and_the_map_stays(hats_data, tmp_path):
    import shutil

    bad = hats_data / "data" / f"members_hats_bad_{tmp_path.name}"
    shutil.copytree(hats_data / "data" / "members_hats", bad)
    for part in (bad / "dataset").rglob("Npix=*.parquet"):
        part.write_bytes(b"not parquet")
    text = CONFIG + HATS.replace("MEMBERS_HATS", "BAD_HATS").replace("data/members_hats", f"data/{bad.name}")
    runtime = ViewerRuntime(load_config(make_config(hats_data, f"bad-{tmp_path.name}.toml", text)), sample_every=60)
    messages = []
    sky = SkyMap(runtime=runtime, served=False, catalog="BAD_HATS", notify=messages.append)
    sky.hats.max_points = 10_000
    sky.set_view_ranges((40.0, 60.0), (-60.0, -45.0))
    assert len(messages) == 1 and "could not be read" in messages[0] and "not a readable HATS partition" in messages[0]
    assert "density" in sky.frame.columns and np.isfinite(catalog_image(sky)["image"]).any()  # the density map stays


def test_served_reads_draw_what_is_ready_then_the_whole_view(runtime):
    from bokeh.document import Document

    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    layer = sky.hats
    layer.max_points, layer.draw_every = 10_000, 0.0  # draw after every partition read
    want, pixels = layer.wanted("RA/Dec", (40.0, 60.0), (-60.0, -45.0))
    assert len(pixels) > 2
    class OrderedDocument(Document):
        """Keeps its next-tick callbacks in the order they were added (Bokeh holds them in a set)."""

        def add_next_tick_callback(self, callback):
            self.added.append(callback)
            return super().add_next_tick_callback(callback)

    doc = OrderedDocument()  # what a served session's reading thread hands its results to
    doc.added = []
    layer._pending = want
    layer._read_then_show(sky, doc, want, pixels)  # the thread's work, here in the test's thread
    callbacks = doc.added
    assert len(callbacks) == len(pixels)  # a draw per partition but the last, then the whole view
    sizes = []
    for callback in callbacks:
        callback()  # as the server's loop runs them, in order
        sizes.append(len(sky.frame))
    rows = layer.hats.partition_rows()
    assert sizes == sorted(sizes) and sizes[-1] == sum(rows[p] for p in pixels) and sizes[0] < sizes[-1]
    assert layer._pending is None and layer._shown == want and layer.partitions_shown == len(pixels)


def _rows_passing(hats, column, lo, hi):
    import pandas as pd

    frame = pd.concat([hats.load_partition(p) for p in hats.partitions], ignore_index=True)
    return frame[(frame[column] >= lo) & (frame[column] <= hi)]


def test_a_filter_on_a_zoomed_out_view_counts_the_rows_that_pass_per_pixel(runtime):
    from vizcache.catalogs.hats import healpix_of
    from vizcache.catalogs.source import OVERVIEW_ORDER

    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    sky.hats.max_points = 10_000
    sky.set_view_ranges((0.0, 360.0), (-90.0, 90.0))
    hats = sky.hats.hats
    column = "z_phot" if "z_phot" in hats.mapping else "z"
    assert "density" in sky.frame.columns and sky.frame["rows"].sum() == hats.total_rows  # the skymap: no row read
    assert partition_keys(runtime) == []

    sky.z_range = (0.4, 0.9)
    passing = _rows_passing(hats, column, 0.4, 0.9)
    assert 0 < len(passing) < hats.total_rows
    assert "density" in sky.frame.columns and sky.frame["rows"].sum() == len(passing)  # only the rows passing
    truth = np.unique(healpix_of(OVERVIEW_ORDER, passing["ra"].to_numpy(np.float64), passing["dec"].to_numpy(np.float64)),
                      return_counts=True)
    pixel_of = lambda frame: healpix_of(OVERVIEW_ORDER, frame["ra"].to_numpy(np.float64), frame["dec"].to_numpy(np.float64))
    assert dict(zip(*truth)) == dict(zip(pixel_of(sky.frame), sky.frame["rows"]))  # each pixel drawn at its centre
    counted = [e for e in runtime.cache.entries() if len(e["key"].parts) == 3]  # (pixel, what is counted, filter)
    assert len(counted) == len(hats.partitions)  # one small entry per partition and filter, the rows not kept
    assert partition_keys(runtime) == [] and all(e["reported_bytes"] < 1_000_000 for e in counted)

    loads = runtime.cache.counters()["loads"]
    sky.z_range = sky.param.z_range.bounds  # no filter: back to the skymap
    assert sky.frame["rows"].sum() == hats.total_rows
    sky.z_range = (0.4, 0.9)  # the same filter again: every partition's counts a hit
    assert sky.frame["rows"].sum() == len(passing) and runtime.cache.counters()["loads"] == loads


def test_a_served_filtered_density_fills_in_with_progress_and_stops_when_superseded(runtime):
    from bokeh.document import Document

    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    layer = sky.hats
    layer.max_points, layer.draw_every = 10_000, 0.0
    row_filter = sky.row_filter(z_range=(0.4, 0.9))
    want, pixels = layer.wanted("RA/Dec", (0.0, 360.0), (-90.0, 90.0), row_filter)
    assert want == row_filter and len(pixels) == len(layer.hats.partitions) > 2
    doc = Document()
    added = []
    doc.add_next_tick_callback = lambda callback: added.append(callback)
    layer._pending = want
    layer._read_then_show(sky, doc, want, pixels)
    assert len(added) == len(pixels)  # a partial draw per partition but the last, then the whole
    shown = []
    for callback in added[:-1]:
        callback()
        shown.append((sky.frame["rows"].sum(), sky.progress.done, sky.progress.visible, sky.progress.text.visible))
    assert all(visible and text for _, _, visible, text in shown)  # progress is shown while counting
    assert [v for _, v, _, _ in shown] == sorted(v for _, v, _, _ in shown) and shown[-1][1] == len(pixels) - 1
    added[-1]()
    assert not sky.progress.visible and layer._shown == want and layer._pending is None
    assert sky.frame["rows"].sum() >= shown[-1][0]

    # A reading thread whose filter has been replaced stops instead of reading every partition.
    other = sky.row_filter(z_range=(0.1, 0.2))
    _, pixels = layer.wanted("RA/Dec", (0.0, 360.0), (-90.0, 90.0), other)
    layer._pending = "a newer view"
    loads = runtime.cache.counters()["loads"]
    added.clear()
    layer._read_then_show(sky, doc, other, pixels)
    assert added == [] and runtime.cache.counters()["loads"] - loads < len(pixels)


def test_a_count_superseded_by_what_is_already_shown_stops_and_the_map_shows_it_again(runtime):
    """Reverting the filter while its count runs: the count stops, the skymap comes back, no bar is left."""
    import threading

    from bokeh.document import Document

    from vizcache.viewer.partitions import FilteredCounts

    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    layer = sky.hats
    layer.max_points, layer.draw_every, layer.workers = 10_000, 0.0, 1
    sky.set_view_ranges((0.0, 360.0), (-90.0, 90.0))
    total = layer.hats.total_rows
    assert layer._shown == "density" and sky.frame["rows"].sum() == total
    row_filter = sky.row_filter(z_range=(0.4, 0.9))
    want, pixels = layer.wanted("RA/Dec", (0.0, 360.0), (-90.0, 90.0), row_filter)
    assert want == row_filter and len(pixels) > 3

    first_read, go_on = threading.Event(), threading.Event()
    real_read = FilteredCounts.read

    def read(counts, pixel):
        first_read.set()
        go_on.wait(10)
        return real_read(counts, pixel)

    FilteredCounts.read = read
    added = []
    doc = Document()
    doc.add_next_tick_callback = added.append
    try:
        layer._pending = want  # as follow() does when the filter is set on a served map ...
        layer._report(sky, want, 0, len(pixels))
        sky.z_range = (0.4, 0.9)  # ... (its own follow finds the count under way)
        thread = threading.Thread(target=layer._read_then_show, args=(sky, doc, want, pixels))
        loads = runtime.cache.counters()["loads"]
        thread.start()
        assert first_read.wait(10)
        sky.z_range = sky.param.z_range.bounds  # the filter is back to its bounds: the skymap, already shown
        go_on.set()
        thread.join(20)
    finally:
        FilteredCounts.read = real_read
    assert not thread.is_alive()
    assert runtime.cache.counters()["loads"] - loads < len(pixels)  # the superseded count stopped reading
    for callback in added:
        callback()  # whatever the thread queued, run as the server's loop would
    assert layer._pending is None and layer._shown == "density"
    assert sky.frame["rows"].sum() == total  # the skymap, not a partial filtered density
    assert not sky.progress.visible and not sky.progress.text.visible and not sky.loading


def test_partial_filtered_density_drawn_then_filter_reverted_redraws_the_skymap(runtime):
    from bokeh.document import Document

    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    layer = sky.hats
    layer.max_points, layer.draw_every = 10_000, 0.0
    sky.set_view_ranges((0.0, 360.0), (-90.0, 90.0))
    total = layer.hats.total_rows
    want, pixels = layer.wanted("RA/Dec", (0.0, 360.0), (-90.0, 90.0), sky.row_filter(z_range=(0.4, 0.9)))
    added = []
    doc = Document()
    doc.add_next_tick_callback = added.append
    layer._pending = want  # as a served follow() does, then the count's work
    sky.z_range = (0.4, 0.9)
    layer._read_then_show(sky, doc, want, pixels)
    added[0]()  # one partial draw of the filtered density is on the map
    assert sky.frame["rows"].sum() < total and sky.progress.visible
    sky.z_range = sky.param.z_range.bounds  # then the filter goes back to its bounds before the count is done
    for callback in added[1:]:
        callback()
    assert sky.frame["rows"].sum() == total and layer._pending is None
    assert not sky.progress.visible


def test_filters_that_differ_below_six_digits_are_counted_apart(runtime):
    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    layer = sky.hats
    layer.max_points = 10_000
    hats = layer.hats
    column = "z_phot" if "z_phot" in hats.mapping else "z"
    import pandas as pd

    frame = pd.concat([hats.load_partition(p) for p in hats.partitions], ignore_index=True)
    values = frame[column].dropna().to_numpy(np.float64)
    middle = np.sort(values[(values > 0.5) & (values < 2.5)])
    hi = float(middle[len(middle) // 2])  # a value some rows have exactly
    below = float(np.nextafter(np.float32(hi), np.float32(0.0)))  # the column is float32
    lo = 0.2
    with_hi = sky.row_filter(z_range=(lo, hi))
    just_below = sky.row_filter(z_range=(lo, below))
    assert with_hi != just_below and f"{hi:g}" == f"{below:g}"
    expect = lambda top: int(((frame[column] >= lo) & (frame[column] <= top) | frame[column].isna()).sum())
    assert expect(hi) > expect(below)
    first = layer.frame_for("RA/Dec", (0.0, 360.0), (-90.0, 90.0), row_filter=with_hi)
    second = layer.frame_for("RA/Dec", (0.0, 360.0), (-90.0, 90.0), row_filter=just_below)
    assert first["rows"].sum() == expect(hi)
    assert second["rows"].sum() == expect(below)  # not the first filter's cached counts


def test_switching_catalog_while_counting_stops_the_count_and_draws_nothing_of_it(runtime):
    from bokeh.document import Document

    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    layer = sky.hats
    layer.max_points, layer.draw_every = 10_000, 0.0
    sky.set_view_ranges((0.0, 360.0), (-90.0, 90.0))
    want, pixels = layer.wanted("RA/Dec", (0.0, 360.0), (-90.0, 90.0), sky.row_filter(z_range=(0.4, 0.9)))
    added = []
    doc = Document()
    doc.add_next_tick_callback = added.append
    layer._pending = want  # a served count under way ...
    layer._report(sky, want, 0, len(pixels))
    sky.z_range = (0.4, 0.9)
    assert sky.progress.visible
    sky.catalog = "PZWAV"  # ... when the user picks another catalog
    assert sky.hats is None and "density" not in sky.frame.columns
    assert not sky.progress.visible and not sky.progress.text.visible  # no bar for a count nobody waits for
    loads = runtime.cache.counters()["loads"]
    layer._read_then_show(sky, doc, want, pixels)  # the old layer's thread, still running
    assert runtime.cache.counters()["loads"] - loads < len(pixels)  # it stops reading
    for callback in added:
        callback()
    assert "density" not in sky.frame.columns and len(sky.frame) == len(runtime.load("PZWAV").data)  # PZWAV, not the old counts
    assert not sky.progress.visible


def test_a_partition_failing_mid_count_puts_back_what_was_shown(hats_data, tmp_path):
    import shutil

    from bokeh.document import Document

    bad = hats_data / "data" / f"members_hats_one_bad_{tmp_path.name}"
    shutil.copytree(hats_data / "data" / "members_hats", bad)
    text = CONFIG + HATS.replace("MEMBERS_HATS", "BAD_HATS").replace("data/members_hats", f"data/{bad.name}")
    runtime = ViewerRuntime(load_config(make_config(hats_data, f"onebad-{tmp_path.name}.toml", text)), sample_every=60)
    messages = []
    sky = SkyMap(runtime=runtime, served=False, catalog="BAD_HATS", notify=messages.append)
    layer = sky.hats
    layer.max_points, layer.draw_every, layer.workers = 10_000, 0.0, 1
    sky.set_view_ranges((0.0, 360.0), (-90.0, 90.0))
    total = layer.hats.total_rows
    want, pixels = layer.wanted("RA/Dec", (0.0, 360.0), (-90.0, 90.0), sky.row_filter(z_range=(0.4, 0.9)))
    layer.hats.partition_file(pixels[-1]).write_bytes(b"not parquet")  # the last partition read fails
    added = []
    doc = Document()
    doc.add_next_tick_callback = added.append
    layer._pending = want
    sky.z_range = (0.4, 0.9)
    layer._read_then_show(sky, doc, want, pixels)
    assert len(added) > 1
    for callback in added:
        callback()
    assert len(messages) == 1 and "could not be read" in messages[0]
    assert sky.frame["rows"].sum() == total  # the skymap again, not a count that misses partitions
    assert layer._pending is None and not sky.progress.visible and not sky.loading
    sky.set_view_ranges((10.0, 350.0), (-90.0, 90.0))  # a pan, the same filter: no read again, no second message
    assert len(messages) == 1 and sky.frame["rows"].sum() == total
    sky.z_range = (0.5, 0.9)  # another filter is tried (and fails on the same file)
    assert len(messages) == 2


def test_a_filter_on_a_column_the_catalog_lacks_does_not_recount(runtime):
    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    layer = sky.hats
    layer.max_points = 10_000
    assert "snr" not in layer.hats.mapping  # members: no SNR column
    sky.set_view_ranges((0.0, 360.0), (-90.0, 90.0))
    sky.z_range = (0.4, 0.9)
    counted = sky.frame["rows"].sum()
    entries, loads = len(runtime.cache.entries()), runtime.cache.counters()["loads"]
    sky.snr_range = (5.0, 20.0)  # narrows nothing this catalog has
    assert sky.frame["rows"].sum() == counted
    assert runtime.cache.counters()["loads"] == loads and len(runtime.cache.entries()) == entries  # no second set of counts
