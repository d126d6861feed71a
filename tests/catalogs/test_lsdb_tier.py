"""The data tier on a real Dask LocalCluster through LSDB: HATS filtered counts and the finder crossmatch give
exactly what the in-process code gives; one Client per process, never the default one, closed at exit."""

import os

import numpy as np
import pandas as pd
import pytest

from vizcache import AgeBased, Cache
from vizcache.catalogs.crossmatch import crossmatch
from vizcache.catalogs.lsdb_tier import DaskSettings, DataTier, lsdb_crossmatch
from vizcache.catalogs.source import CatalogSource
from vizcache.config import load_config
from vizcache.viewer.filters import RowFilter
from vizcache.viewer.partitions import ClusterCounts, FilteredCounts

from .conftest import write_config
from .test_hats import hats_dir  # noqa: F401  (the small preset's members as a HATS catalog)


@pytest.fixture
def tier():  # per test: the suite checks that no test leaves a process running
    tier = DataTier(DaskSettings("local", workers=2, threads_per_worker=1, memory_limit="1GiB"))
    yield tier
    tier.close()


def members_hats(folder):
    config = write_config(folder / "t.toml", '[catalogs.MH]\nfiles = "members_hats"\nformat = "hats"\nkind = "members"\n')
    return CatalogSource(load_config(config).catalogs["MH"]).open_hats()


def z_filter(low: float, high: float) -> RowFilter:
    return RowFilter.of({"z": (low, high)}, {"z": (0.0, 3.0)}, keep_unknown_z=False).only({"ra": "", "dec": "", "z_phot": ""})


def test_filtered_counts_on_the_cluster_equal_the_in_process_counts(hats_dir, tier):  # noqa: F811
    hats = members_hats(hats_dir)
    row_filter = z_filter(0.4, 0.9)
    local = FilteredCounts(Cache(AgeBased(max_age=3600)), hats, 8, row_filter.columns(), row_filter.mask, row_filter.signature(), workers=1)
    cache = Cache(AgeBased(max_age=3600))
    remote = ClusterCounts(tier, cache, hats, 8, row_filter.columns(), row_filter.mask, row_filter.signature())
    seen = []
    expected = local.density(local.load(hats.partitions))
    got = remote.density(remote.load(hats.partitions, progress=lambda done, total, _: seen.append((done, total))))
    pd.testing.assert_frame_equal(got, expected)
    assert 0 < int(got["rows"].sum()) < hats.total_rows and seen[-1] == (len(hats.partitions), len(hats.partitions))
    # Each partition's counts are a cache entry under the policy: asked again, every one is a hit, no cluster work.
    hits = cache.stats().hits
    again = remote.density(remote.load(hats.partitions))
    pd.testing.assert_frame_equal(again, expected)
    assert cache.stats().hits - hits == len(hats.partitions)

    # Zoomed in, a view's partitions are read on the workers too: the same frames as a read here, cached per partition.
    from vizcache.viewer.partitions import ClusterPartitions, PartitionLoader

    some = hats.partitions[:: max(1, len(hats.partitions) // 5)]
    remote_rows = ClusterPartitions(tier, cache, hats).load(some)
    for got, expected in zip(remote_rows, PartitionLoader(Cache(AgeBased(max_age=3600)), hats, workers=1).load(some)):
        pd.testing.assert_frame_equal(got, expected)
    assert all(ClusterPartitions(tier, cache, hats).key(p) in cache for p in some)
    # The work ran in the cluster's worker processes, on the process's one Client, which is not Dask's default.
    from distributed import default_client

    pids = set(tier.client().run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids and tier.client() is tier.client()
    with pytest.raises(ValueError):
        default_client()  # no other Dask work in the process moves to the tier's cluster


def _clusters(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ra, dec = rng.uniform(150, 160, n), rng.uniform(-5, 5, n)
    return pd.DataFrame({"ra": ra, "dec": dec, "z": rng.uniform(0.1, 1.5, n)})


def test_the_lsdb_crossmatch_gives_the_same_pairs_as_astropys(tier):
    a = _clusters(3_000, 1)
    b = a.sample(frac=0.8, random_state=2).reset_index(drop=True)  # most of A, moved a little, and others
    rng = np.random.default_rng(3)
    b["ra"] += rng.normal(0, 30 / 3600, len(b))
    b["dec"] += rng.normal(0, 30 / 3600, len(b))
    b["z"] += rng.normal(0, 0.05, len(b))
    b = pd.concat([b, _clusters(800, 4)], ignore_index=True)
    for radius, dz in ((180.0, 0.15), (60.0, 0.05), (900.0, 1.0)):  # 900": several B per A, the neighbour count doubled
        expected, got = crossmatch(a, b, radius, dz), lsdb_crossmatch(tier, a, b, radius, dz)
        assert np.array_equal(got.pairs, expected.pairs), radius
        assert np.array_equal(got.a_to_b, expected.a_to_b) and np.allclose(got.separation_arcsec, expected.separation_arcsec)
        assert len(expected.pairs) > 100
    assert len(lsdb_crossmatch(tier, a, a.iloc[:0]).pairs) == 0  # an empty side matches nothing


def test_a_scheduler_that_cannot_be_reached_is_one_line(monkeypatch):
    from vizcache.catalogs import lsdb_tier
    from vizcache.catalogs.readers import CatalogError
    from tests.ports import free_port

    monkeypatch.setattr(lsdb_tier, "CONNECT_TIMEOUT", 2)
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    tier = DataTier(DaskSettings(address))
    with pytest.raises(CatalogError) as info:
        tier.client()
    message = str(info.value)
    assert message.startswith(f"[dask] scheduler = {address!r} cannot be reached (") and "\n" not in message
