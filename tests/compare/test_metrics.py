"""Metrics checked by hand on small, made-up runs."""

import pytest

from vizcache import Cache, RSSThresholdLRU
from vizcache.compare.metrics import run_metrics, spread, time_over, verdicts
from vizcache.compare.simulate import simulate

from ..conftest import FakeMemory

MiB = 2**20


def make_run():
    # t, key, hit, latency s, true bytes
    requests = [[0, "A", False, 0.100, 4 * MiB], [1, "A", True, 0.001, 4 * MiB], [2, "B", False, 0.300, 12 * MiB],
                [3, "A", True, 0.003, 4 * MiB]]
    stats = {"loads": 2, "evictions": 1, "expirations": 0, "rejections": 0, "probe_seconds": 0.002, "sizing_seconds": 0.010,
             "reclaim_seconds": 0.003}
    return {"requests": requests, "stats": stats, "rss": [[0.0, 100 * MiB], [0.5, 130 * MiB], [1.0, 125 * MiB], [2.0, 90 * MiB]],
            "peak_rss": 131 * MiB, "limit": 120 * MiB, "reclaimed": [2 * MiB, 4 * MiB],
            "accounting": [{"key": "A", "true": 4 * MiB, "measured": 5 * MiB, "estimated": 200},
                           {"key": "B", "true": 12 * MiB, "measured": 9 * MiB, "estimated": 300}]}


def test_run_metrics_by_hand():
    m = run_metrics(make_run())
    assert m["hit_ratio"] == 0.5
    assert m["byte_hit_ratio"] == pytest.approx(8 / 24)
    assert m["hit_p50_ms"] == pytest.approx(2.0) and m["hit_max_ms"] == pytest.approx(3.0)
    assert m["miss_p50_ms"] == pytest.approx(200.0) and m["miss_max_ms"] == pytest.approx(300.0)
    assert m["peak_rss_mib"] == pytest.approx(131.0)  # VmHWM beats the samples when higher
    assert m["over_limit_s"] == pytest.approx(1.5)  # 130 MiB from 0.5 s, 125 MiB until 2.0 s
    assert m["reclaimed_per_eviction_mib"] == pytest.approx(3.0)
    assert m["overhead_ms"] == pytest.approx(15.0)
    assert m["measured_error"] == pytest.approx((0.25 + 0.25) / 2)  # |5-4|/4 and |9-12|/12
    assert m["estimated_error"] == pytest.approx(1.0, abs=1e-4)  # getsizeof-like: ~100 % wrong


def test_time_over_limit_counts_each_sample_until_the_next():
    assert time_over([(0, 5), (1, 20), (3, 5), (4, 20)], 10) == 2  # the last sample has no duration


def test_spread_ignores_missing_values():
    assert spread([3.0, None, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    assert spread([None])["median"] is None


def test_verdicts_are_computed_from_numbers():
    summary = {"old": {"hit_p95_ms": {"median": 40.0}, "hit_ratio": {"median": 0.5}},
               "new": {"hit_p95_ms": {"median": 10.0}, "hit_ratio": {"median": 0.51}}}
    lines = verdicts(summary)
    assert "hit latency p95: best new (10 ms), 4.0× lower than old (40 ms)" in lines
    assert "hit ratio: new (0.51) and old (0.5) are within 5%" in lines
    summary["old"]["hit_p95_ms"]["median"] = 5.0
    assert "hit latency p95: best old (5 ms), 2.0× lower than new (10 ms)" in verdicts(summary)


def test_simulation_model_agrees_with_the_real_rss_policy():
    sizes = {"A": 40, "B": 40, "C": 40, "HUGE": 500}  # MiB
    reqs = [(0, "A"), (1, "B"), (2, "A"), (3, "C"), (4, "A"), (5, "HUGE"), (6, "A"), (7, "C"), (8, "B")]
    params = {"high_water": 0.8, "low_water": 0.5}
    sim = simulate(reqs, {k: v * MiB for k, v in sizes.items()}, {}, {k: 1.0 for k in sizes}, "RSSThresholdLRU", params, limit=100 * MiB)
    memory = FakeMemory(base=0)
    cache = Cache(RSSThresholdLRU(limit=100 * MiB, **params), rss_probe=memory.rss)
    for _, key in reqs:
        cache.get_or_load(key, memory.loader(sizes[key] * MiB))
    real = cache.stats()
    assert sim["miss_ratio"] == pytest.approx(real["misses"] / real["requests"])
    assert real["rejections"] == 1  # HUGE alone is over the limit
    assert sim["mean_latency_ms"] == pytest.approx(1000 * real["misses"] / len(reqs))


def test_simulation_getsizeof_admits_everything_deep_evicts():
    sizes = {k: 50 for k in "ABCD"}
    loads = {k: 0.01 for k in sizes}
    reqs = [(i, k) for i, k in enumerate("ABCDABCD")]
    tiny = {k: 1 for k in sizes}  # what getsizeof says of a dict of arrays
    old = simulate(reqs, sizes, tiny, loads, "SizeEstimatedLRU", {}, limit=100)
    new = simulate(reqs, sizes, sizes, loads, "SizeEstimatedLRU", {}, limit=100)
    assert old["miss_ratio"] == 0.5 and old["peak_mib"] * 2**20 == 200  # all kept: twice the budget
    assert new["miss_ratio"] == 1.0 and new["peak_mib"] * 2**20 <= 100


def test_simulation_age_expires_on_request_time():
    sizes, loads = {"A": 1}, {"A": 0.5}
    r = simulate([(0, "A"), (5, "A"), (100, "A")], sizes, {}, loads, "AgeBased", {"max_age": None, "max_idle": 10}, limit=10)
    assert r["miss_ratio"] == pytest.approx(2 / 3)
