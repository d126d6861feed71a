"""The viewer on a HATS catalog: density zoomed out, partitions in view as cache entries zoomed in."""

import sys

import holoviews as hv
import pytest

from vizcache.catalogs.partition import PartitionSettings, generated_members_spec, partition_catalog
from vizcache.config import load_config
from vizcache.events import read_trace
from vizcache.viewer.hats_layer import HatsLayer
from vizcache.viewer.monitor import CacheMonitor
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap

from .conftest import CONFIG, make_config

hv.extension("bokeh")

HATS = '''
[catalogs.MEMBERS_HATS]
files = "data/members_hats"
format = "hats"
kind = "members"
'''


@pytest.fixture(autouse=True)
def no_served_document(monkeypatch):
    monkeypatch.setattr(sys.modules["panel.io.state"], "curdoc_locked", lambda: None)


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


def catalog_image(skymap):
    return [el for el in skymap._map.object[()] if isinstance(el, hv.Image)][-1]


def partition_keys(runtime):
    return [e["key"] for e in runtime.cache.entries() if len(e["key"]) == 3]


def test_zoomed_out_shows_density_without_reading_rows(runtime):
    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    total = runtime.sources["MEMBERS_HATS"].open_hats().total_rows
    assert "density" in sky.frame.columns and sky.frame["rows"].sum() == total
    assert sky.aggregation == "mean"  # mean rows per deg² of the HEALPix pixels under a screen pixel
    image = catalog_image(sky)
    assert image.data[image.vdims[0].name].notnull().any()
    sky._range.event(x_range=(0.0, 360.0), y_range=(-90.0, 90.0))  # the whole sky: more rows than max_points?
    assert partition_keys(runtime) == [] or sky._hats.max_points >= total


def test_zooming_in_loads_the_partitions_in_view_as_cache_entries(runtime):
    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    sky._hats.max_points = 10_000  # the small preset's 40k rows: a whole-sky view stays density
    sky._range.event(x_range=(0.0, 360.0), y_range=(-90.0, 90.0))
    assert "density" in sky.frame.columns and partition_keys(runtime) == []
    sky._range.event(x_range=(40.0, 60.0), y_range=(-60.0, -45.0))  # inside the south-wide patch
    keys = partition_keys(runtime)
    assert keys and sky._hats.partitions_shown == len(keys) and "density" not in sky.frame.columns
    assert len(sky.frame) == sum(runtime.sources["MEMBERS_HATS"].open_hats().partition_rows()[p] for p in sky._hats._shown)
    assert sky.view is not None and sky.view[0] is sky.frame  # histograms and table follow the rows in view
    image = catalog_image(sky)
    assert image.data[image.vdims[0].name].sum() > 0
    # The monitor lists each partition as its own entry.
    monitor = CacheMonitor(runtime=runtime)
    monitor.refresh()
    shown = set(monitor._entries.value["key"])
    assert {f"MEMBERS_HATS {k[2]}" for k in keys} <= shown
    # Out to the whole sky and back: density from the overview, then every partition a hit.
    loads = runtime.cache.counters()["loads"]
    sky._range.event(x_range=(0.0, 360.0), y_range=(-90.0, 90.0))
    assert "density" in sky.frame.columns
    sky._range.event(x_range=(40.0, 60.0), y_range=(-60.0, -45.0))
    assert runtime.cache.counters()["loads"] == loads and runtime.cache.counters()["hits"] >= len(keys)
    # Every partition access is in the viewer's trace, for `vizcache compare` to replay.
    runtime.cache.flush_trace()
    rows = [r for r in read_trace(runtime.config.trace) if "Norder=" in r["key"]]
    assert {str(k) for k in keys} <= {r["key"] for r in rows} and any(r["hit"] for r in rows)
    assert all(r["size"] for r in rows if not r["hit"])  # the loader-reported size of each partition


def test_panning_across_ra_zero_and_the_all_sky_projection(runtime):
    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    sky._hats.max_points = 10_000
    sky._range.event(x_range=(-8.0, 8.0), y_range=(-5.0, 5.0))  # the equatorial patch, across RA 0
    assert "density" not in sky.frame.columns and ((sky.frame["ra"] > 350) | (sky.frame["ra"] < 10)).any()
    sky.projection = "all-sky"
    sky._range.event(x_range=(-0.2, 0.2), y_range=(-0.1, 0.1))  # the same place in Hammer-Aitoff
    assert "density" not in sky.frame.columns and sky._hats.partitions_shown > 0


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
    sky._hats.max_points = 10_000
    sky._range.event(x_range=(40.0, 60.0), y_range=(-60.0, -45.0))
    assert len(messages) == 1 and "could not be read" in messages[0] and "not a readable HATS partition" in messages[0]
    assert "density" in sky.frame.columns and catalog_image(sky) is not None  # the density map stays


def test_served_reads_draw_what_is_ready_then_the_whole_view(runtime):
    from bokeh.document import Document

    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
    layer = sky._hats
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
