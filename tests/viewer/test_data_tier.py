"""The viewer with a ``[dask]`` table: a HATS catalog's filtered density, its rows in a zoomed-in view and the
finder comparison computed on a real LocalCluster through LSDB equal the in-process results, are cached under the policy, and leave the web
process free while they run."""

import threading
import time

import pandas as pd
import pytest

from vizcache.config import load_config
from vizcache.viewer.partitions import ClusterCounts, ClusterPartitions
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap

from .conftest import CONFIG, make_config
from .test_hats_viewer import HATS, hats_data  # noqa: F401  (the small preset's members as a HATS catalog)

pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest
DASK = '\n[dask]\nscheduler = "local"\nworkers = 1\nthreads_per_worker = 1\nmemory_limit = "1GiB"\n'


@pytest.fixture
def runtimes(hats_data, tmp_path):  # noqa: F811
    """(in-process runtime, [dask] runtime) on the same files; the cluster closed afterwards."""
    local = ViewerRuntime(load_config(make_config(hats_data, f"local-{tmp_path.name}.toml", CONFIG + HATS)), sample_every=60)
    remote = ViewerRuntime(load_config(make_config(hats_data, f"dask-{tmp_path.name}.toml", CONFIG + HATS + DASK)), sample_every=60)
    yield local, remote
    remote.data_tier.close()


def test_a_filtered_density_and_the_comparison_on_the_cluster_equal_the_in_process_ones(runtimes):
    local, remote = runtimes
    shown, rows = [], []
    for runtime in (local, remote):
        sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS_HATS")
        sky.hats.max_points = 10_000
        sky.set_view_ranges((0.0, 360.0), (-90.0, 90.0))
        sky.z_range = (0.4, 0.9)
        shown.append(sky.frame.reset_index(drop=True))
        sky.z_range = sky.param.z_range.bounds
        sky.set_view_ranges((40.0, 60.0), (-60.0, -45.0))  # zoomed in: the partitions in view, their rows
        rows.append(sky.frame.reset_index(drop=True))
    assert isinstance(sky.hats._counts(sky.row_filter()), ClusterCounts) and isinstance(sky.hats.loader, ClusterPartitions)
    pd.testing.assert_frame_equal(shown[1], shown[0])
    assert 0 < shown[1]["rows"].sum()
    assert "density" not in rows[1].columns and len(rows[1]) > 0
    pd.testing.assert_frame_equal(rows[1], rows[0])
    expected = local.crossmatch("PZWAV", "AMICO", 180.0, 0.15)
    got = remote.crossmatch("PZWAV", "AMICO", 180.0, 0.15)
    assert (got.pairs == expected.pairs).all() and got.counts == expected.counts and len(got.pairs) > 100
    hits = remote.cache.stats().hits
    assert remote.crossmatch("PZWAV", "AMICO", 180.0, 0.15) is got  # another session's: one entry under the policy
    assert remote.cache.stats().hits > hits


class BusyKeep:
    """A filter that keeps the CPU busy for ``seconds`` per partition (pure Python, holding the GIL of the
    process it runs in) before passing every row."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, frame):
        end = time.process_time() + self.seconds
        while time.process_time() < end:
            pass
        return None


def test_a_count_on_the_cluster_leaves_the_web_process_free(runtimes):
    _, remote = runtimes
    hats = remote.load("MEMBERS_HATS").hats
    counts = ClusterCounts(remote.data_tier, remote.cache, hats, 8, ["z_phot"], BusyKeep(0.4), "busy")
    events, started = [], threading.Event()

    def count():
        counts.load(hats.partitions, progress=lambda *_: started.set())
        events.append("count done")

    worker = threading.Thread(target=count)
    worker.start()
    assert started.wait(120)  # partitions are being counted on the worker
    SkyMap(runtime=remote, served=False, catalog="PZWAV").set_view_ranges((100.0, 200.0), (0.0, 50.0))  # another session's page
    events.append("page built")
    worker.join(300)
    assert events == ["page built", "count done"], events
    assert len(hats.partitions) * 0.4 > 5  # the count takes seconds of CPU: the page was built while it ran
