"""The recorded viewer zipf trace (benchmarks/traces/viewer_zipf_47.jsonl) and its A/B of eviction orders.

The trace is the viewer's own recording of 1,000 catalog switches among 47 catalogs (see
benchmarks/record_viewer_zipf_trace.py); policies/ab_orders_recorded_zipf.toml replays it key by key.
At that experiment's decision budget (a quarter of the working set) S3-FIFO keeps more hits than
LRU in the simulator, in the real `Cache` and in libCacheSim; at half the working set they are level.
"""

from pathlib import Path

import pytest

from vizcache import Cache, SizeEstimatedLRU, read_trace
from vizcache.compare.experiment import load_experiment
from vizcache.compare.runner import recorded_workload
from vizcache.compare.simulate import simulate
from vizcache.compare.tracefile import object_sizes

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "benchmarks" / "traces" / "viewer_zipf_47.jsonl"
EXPERIMENT = ROOT / "policies" / "ab_orders_recorded_zipf.toml"


@pytest.fixture(scope="module")
def trace():
    """(requested keys in order, each key's recorded size)."""
    rows = read_trace(TRACE)
    sizes, _ = object_sizes(rows)
    return [row["key"] for row in rows], sizes


def real_cache_hit_ratio(keys: list[str], sizes: dict[str, int], budget: int, order: str) -> float:
    """The trace through the real Cache, each entry weighing its recorded size, so the order alone decides."""
    cache = Cache(SizeEstimatedLRU(estimator=lambda value: value[1], budget=budget, order=order))
    for key in keys:
        cache.get_or_load(key, lambda: (key, sizes[key]))
    return cache.stats().hit_ratio


def test_the_shipped_trace_is_a_whole_recording_of_47_catalogs(trace):
    keys, sizes = trace
    rows = read_trace(TRACE)
    assert len(rows) == 1000 and len(set(keys)) == 47 and len(sizes) == 47
    assert not any(row.get("failed") for row in rows)
    loads = [row for row in rows if not row["hit"]]
    # Recorded with nothing evicted: each catalog loaded once, on its first request, with a real size and time.
    assert sorted(row["key"] for row in loads) == sorted(set(keys))
    assert all(row["bytes"] > 0 and row["load_s"] > 0 for row in loads)
    assert all(a != b for a, b in zip(keys, keys[1:]))  # a switch always goes to another catalog
    assert 100 * 2**20 < sum(sizes.values()) < 300 * 2**20


def test_the_experiment_replays_the_whole_trace_key_by_key_at_a_quarter_and_a_half():
    exp = load_experiment(EXPERIMENT)
    assert exp.workload.recorded and exp.workload.trace == TRACE
    assert exp.budget.share == 0.25 and sorted(b.share for b in exp.budgets) == [0.25, 0.5]
    assert [p.table["order"] for p in exp.policies] == ["lru", "s3fifo"]
    requests, objects, truth = recorded_workload(exp)
    assert len(requests) == 1000 and len(objects) == 47 == len(truth["sizes"])


def test_s3fifo_keeps_more_hits_than_lru_at_a_quarter_of_the_working_set(trace):
    keys, sizes = trace
    budget = int(0.25 * sum(sizes.values()))
    requests = list(enumerate(keys))
    simulated = {order: simulate("RSSThresholdLRU", requests, sizes, budget, params={"order": order})["hit_ratio"]
                 for order in ("lru", "s3fifo")}
    assert simulated["s3fifo"] - simulated["lru"] > 0.03, simulated
    real = {order: real_cache_hit_ratio(keys, sizes, budget, order) for order in ("lru", "s3fifo")}
    assert real["s3fifo"] - real["lru"] > 0.03, real


def test_at_half_the_working_set_the_orders_are_level(trace):
    keys, sizes = trace
    budget = int(0.5 * sum(sizes.values()))
    real = {order: real_cache_hit_ratio(keys, sizes, budget, order) for order in ("lru", "s3fifo")}
    assert abs(real["s3fifo"] - real["lru"]) < 0.02, real


def test_libcachesim_ranks_the_orders_the_same_way(trace):
    pytest.importorskip("libcachesim")
    from vizcache.compare.reference import replay

    keys, sizes = trace
    budget = int(0.25 * sum(sizes.values()))
    assert replay("S3FIFO", keys, sizes, budget)["hit_ratio"] - replay("LRU", keys, sizes, budget)["hit_ratio"] > 0.03
