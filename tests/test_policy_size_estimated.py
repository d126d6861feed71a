"""SizeEstimatedLRU: the old approach, with its costs and its errors intact."""

import sys

import numpy as np
import pandas as pd

from vizcache import Cache, SizeEstimatedLRU
from vizcache.sizing import deep_size, getsizeof_size, nbytes_size

from .conftest import MiB


def dict_of_arrays(n_bytes):
    return {"ra": np.ones(n_bytes // 16), "dec": np.ones(n_bytes // 16)}


def test_getsizeof_is_shallow_on_dicts_of_arrays():
    value = dict_of_arrays(8 * MiB)
    assert getsizeof_size(value) == sys.getsizeof(value) < 1000
    assert abs(deep_size(value) - 8 * MiB) < 4096
    assert nbytes_size(value) == 8 * MiB


def test_deep_counts_shared_buffers_once_and_views_through_their_base():
    a = np.ones(MiB // 8)
    value = {"x": a, "y": a, "view": a[::2], "names": ["a" * 1000]}
    size = deep_size(value)
    assert MiB < size < MiB + 8000


def test_deep_sizes_object_columns_of_frames():
    df = pd.DataFrame({"name": [f"cluster-{i:08d}" for i in range(1000)], "z": np.ones(1000)})
    df["name"] = df["name"].astype(object)  # pandas 3 would infer Arrow strings; the old app had objects
    assert deep_size(df) > 1000 * 8 + 1000 * 40  # strings are counted, not just pointers
    assert nbytes_size(df) < deep_size(df)


def test_getsizeof_policy_admits_everything_and_overshoots_its_budget(memory):
    cache = Cache(SizeEstimatedLRU(estimator="getsizeof", budget="10MiB"), rss_probe=memory.rss)
    for key in range(5):
        cache.get_or_load(key, lambda: dict_of_arrays(8 * MiB))
    assert len(cache) == 5  # 40 MiB of arrays "fit" a 10 MiB budget: the old bug
    assert cache.stats()["estimated_bytes"] < 10 * MiB


def test_deep_policy_keeps_estimated_total_under_budget_lru_order(memory):
    cache = Cache(SizeEstimatedLRU(estimator="deep", budget="20MiB"), rss_probe=memory.rss)
    for key in "abc":
        cache.get_or_load(key, lambda: dict_of_arrays(8 * MiB))
    assert [e["key"] for e in cache.entries()] == ["b", "c"]
    assert all(7 * MiB < e["estimated_bytes"] < 9 * MiB for e in cache.entries())
    assert cache.stats()["evictions"] == 1


def test_rejects_a_value_larger_than_budget(memory):
    cache = Cache(SizeEstimatedLRU(estimator="nbytes", budget="4MiB"), rss_probe=memory.rss)
    cache.get_or_load("big", lambda: dict_of_arrays(8 * MiB))
    assert "big" not in cache and cache.stats()["rejections"] == 1


def test_sizes_on_admit_in_cleanup_and_in_stats_as_the_old_code_did(memory):
    cache = Cache(SizeEstimatedLRU(estimator="deep", budget="1GiB"), rss_probe=memory.rss)
    for key in "abc":
        cache.get_or_load(key, lambda: dict_of_arrays(MiB))
    # admits: 1 each (3); clean-ups re-size every entry: 1 + 2 + 3 (6); stats re-sizes all 3
    s = cache.stats()
    assert s["sizing_calls"] == 12 and s["sizing_seconds"] > 0
    assert cache.stats()["sizing_calls"] == 15
