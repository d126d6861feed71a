"""Metrics, intervals, verdicts, the decision and the simulation models, checked by hand on small made-up runs."""

import numpy as np
import pytest

from vizcache import Cache, LegacyRSSManager, RSSThresholdLRU
from vizcache.compare.metrics import METRICS, run_metrics
from vizcache.compare.report import _markdown, cell, summarise
from vizcache.compare.simulate import lru, simulate, size_estimated
from vizcache.compare.stats import compare, difference, interval, summarise_policy, verdicts
from vizcache.compare.worker import derive_params

from ..conftest import FakeMemory
from .test_decision_rule import arm

MiB = 2**20
THRESHOLDS = {"relative": 0.10, "latency_ms": 1.0}


def make_run(label="p", rep=0, latency_scale=1.0, hit_second=True):
    # t, key, hit, latency s, overhead s, sizing s, gc s, rss max, rss settled (baseline 100 MiB, limit 120 MiB)
    requests = [[0, "A", False, 0.100, 0.002, 0.001, 0.001, 110 * MiB, 104 * MiB],
                [1, "A", hit_second, 0.001, 0.0, 0.0, 0.001, 105 * MiB, 104 * MiB],
                [2, "B", False, 0.300, 0.004, 0.002, 0.001, 140 * MiB, 125 * MiB],
                [3, "A", True, 0.003, 0.0, 0.0, 0.001, 126 * MiB, 125 * MiB]]
    for r in requests:
        r[3] *= latency_scale
    stats = {"loads": 2, "evictions": 1, "expirations": 0, "rejections": 0, "probe_seconds": 0.002, "sizing_seconds": 0.003,
             "reclaim_seconds": 0.001}
    run = {"status": "ok", "label": label, "repetition": rep, "budget_bytes": 20 * MiB, "requests": requests, "stats": stats,
           "baseline_rss": 100 * MiB, "limit": 120 * MiB, "peak_rss": 141 * MiB, "reclaimed": [2 * MiB, 4 * MiB],
           "accounting": [{"key": "A", "rss_delta": 5 * MiB, "estimated": 200}, {"key": "B", "rss_delta": 9 * MiB, "estimated": 300}],
           "params": {}, "hit_path": "plain"}
    run["metrics"] = run_metrics(run, TRUE)
    return run


TRUE = {"A": 4 * MiB, "B": 12 * MiB}


def test_run_metrics_by_hand():
    m = make_run()["metrics"]
    assert m["hit_ratio"] == 0.5
    assert m["byte_hit_ratio"] == pytest.approx(8 / 24)
    assert m["miss_p50_ms"] == pytest.approx(200.0)
    assert m["overhead_ms"] == pytest.approx(1.5)  # 6 ms of policy time over 4 requests
    assert m["sizing_ms"] == pytest.approx(0.75) and m["harness_gc_ms"] == pytest.approx(1.0)
    assert m["over_limit_share"] == 0.5  # requests 3 and 4 went above 120 MiB while they ran
    assert m["settled_over_share"] == 0.5 and m["settled_excess_mib"] == pytest.approx(5.0)
    assert m["max_excess_mib"] == pytest.approx(21.0)  # VmHWM 141 MiB beats the samples
    assert m["peak_above_baseline_mib"] == pytest.approx(41.0)
    assert m["rss_delta_error"] == pytest.approx((0.25 + 0.25) / 2)  # |5-4|/4 and |9-12|/12, against the true sizes
    assert m["estimated_error"] == pytest.approx(1.0, abs=1e-4)  # getsizeof-like: ~100 % wrong
    assert m["reclaimed_per_eviction_mib"] == pytest.approx(3.0)


def test_interval_is_a_bootstrap_of_the_median():
    s = interval([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s["median"] == 3.0 and s["n"] == 5
    lo, hi = s["ci"]
    assert 1.0 <= lo <= 3.0 <= hi <= 100.0
    assert interval([5.0])["ci"] is None and interval([None])["median"] is None
    assert interval([2.0, 2.0, 2.0])["ci"] == [2.0, 2.0]


def test_difference_interval_excludes_zero_only_for_a_real_shift():
    rng = np.random.default_rng(0)
    a, b = rng.normal(10, 1, 200), rng.normal(12, 1, 200)
    d = difference(a, b)
    assert d["ci"][1] < 0 and d["median"] == pytest.approx(np.median(a) - np.median(b))
    same = difference(rng.normal(10, 1, 200), rng.normal(10, 1, 200))
    assert same["ci"][0] < 0 < same["ci"][1]


def test_verdicts_need_an_interval_apart_from_zero_and_a_practical_difference():
    # repetition by repetition (the same sequence for both), new is sometimes behind: its gain is not detectable
    runs = {"old": arm((0.5, 0.4, 0.6, 0.45, 0.55), switch_ms=40.0), "new": arm((0.45, 0.85, 0.5, 0.9, 0.6), switch_ms=10.0, seed=1)}
    summary = {label: summarise_policy(r) for label, r in runs.items()}
    by_metric = {v["metric"]: v for v in verdicts(runs, summary, {"old": "plain", "new": "plain"}, THRESHOLDS)}
    assert by_metric["switch_p95_ms"]["winner"] == "new" and "(difference -30" in by_metric["switch_p95_ms"]["text"]
    assert by_metric["hit_ratio"]["winner"] is None and "hit ratio: no detectable difference (new 0.6" in by_metric["hit_ratio"]["text"]
    assert "hit_p95_ms" not in by_metric and "loads" not in by_metric  # the same hit path; a counter
    assert all(set(v) == {"metric", "winner", "text"} for v in by_metric.values())
    hit = verdicts(runs, summary, {"old": "plain", "new": "checks freshness"}, THRESHOLDS)
    assert any(v["metric"] == "hit_p95_ms" for v in hit)  # different hit paths: judged


def test_comparisons_pair_the_repetitions_that_replayed_one_sequence():
    # the two groups' ranges overlap, but in every repetition (one request sequence) new is 0.15-0.3 ahead
    old, new = arm((0.5, 0.4, 0.6, 0.45, 0.55)), arm((0.8, 0.55, 0.9, 0.6, 0.85), seed=1)
    paired = compare(new, old, "hit_ratio", THRESHOLDS)
    assert paired["verdict"] == "better" and paired["ci"][0] == pytest.approx(0.15)
    unpaired = difference([0.8, 0.55, 0.9, 0.6, 0.85], [0.5, 0.4, 0.6, 0.45, 0.55])  # independent groups: zero not excluded
    assert unpaired["ci"][0] <= 0 and unpaired["median"] == pytest.approx(paired["median"])
    for rep, run in enumerate(new):  # a repetition only one policy finished is left out of the pairs
        run["repetition"] = rep + 1
    shifted = compare(new, old, "hit_ratio", THRESHOLDS)
    assert shifted["median"] == pytest.approx(0.7 - 0.5)  # repetitions 1-4: medians of (0.8, 0.55, 0.9, 0.6) and (0.4, 0.6, 0.45, 0.55)


def document_with(runs, budgets=(20 * MiB,)):
    return {"complete": True, "runs": runs, "experiment": {
        "name": "t|x", "budget_bytes": 20 * MiB, "budget": "20 MiB", "budgets": list(budgets), "layout": "frame", "preset": "small",
        "clusters": 100, "repetitions": 2, "workload": {"kind": "zipf", "requests": 4}, "catalogs": ["A", "B"],
        "working_set_bytes": 16 * MiB, "true_size_method": "by hand", "gc": "fixed", "quick": False,
        "thresholds": THRESHOLDS, "decision": {"baseline": "old", "memory": "hard", "tolerance": 0.0, "switch_p95_ms": None,
                                               "budget_bytes": 20 * MiB},
        "policies": [{"label": "old", "name": "SizeEstimatedLRU"}, {"label": "new|er", "name": "RSSThresholdLRU"}]}}


def test_decision_names_every_policy_and_recommends_from_the_numbers():
    runs = [make_run("old", r) for r in range(3)] + [make_run("new|er", r, latency_scale=0.2) for r in range(3)]
    for run in runs[3:]:  # the new policy held the limit
        for row in run["requests"]:
            row[8] = min(row[8], 119 * MiB)
        run["metrics"] = run_metrics(run, TRUE)
    doc = document_with(runs)
    summarise(doc)
    d = doc["decision"]
    assert d["baseline"] == "old" and [c["policy"] for c in d["policies"]] == ["new|er"]
    assert d["baseline_result"]["held_limit"] is False and d["policies"][0]["held_limit"] is True
    change = d["policies"][0]["change"]["switch_p95_ms"]
    assert change["median"] < 0 and change["ci"] is not None
    assert d["recommendation"].startswith("Switch from old to new|er: old held more than the budget")


def test_markdown_tables_keep_their_cells_even_with_pipes_in_labels():
    runs = [make_run("old", r) for r in range(2)] + [make_run("new|er", r) for r in range(2)]
    doc = document_with(runs)
    summarise(doc)
    text = _markdown(doc)
    assert "new\\|er" in text and cell("a|b") == "a\\|b"
    tables: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("|"):
            if not tables or tables[-1] is None:
                tables.append([])
            tables[-1].append(line)
        elif tables and tables[-1] is not None:
            tables.append(None)
    tables = [t for t in tables if t]
    assert len(tables) >= 3  # decision, setup, results
    for table in tables:
        counts = {len([c for c in __import__("re").split(r"(?<!\\)\|", row)]) for row in table}
        assert len(counts) == 1, table
    assert text.index("## Decision") < text.index("## Results")
    for label in METRICS.values():
        assert "|" not in label.label


def test_derive_params_gives_every_policy_the_same_budget_above_the_baseline():
    base, budget = 300 * MiB, 100 * MiB
    assert derive_params({"name": "SizeEstimatedLRU", "estimator": "deep"}, base, budget)["budget"] == budget
    rss = derive_params({"name": "RSSThresholdLRU", "high_water": 0.8, "low_water": 0.6}, base, budget)
    policy = RSSThresholdLRU(**{k: v for k, v in rss.items() if k != "name"})
    assert policy.high_bytes == pytest.approx(base + budget, abs=2)
    assert policy.low_bytes == pytest.approx(base + budget * 0.6 / 0.8, abs=2)  # the band is a share of the budget
    legacy = derive_params({"name": "LegacyRSSManager"}, base, budget)
    policy = LegacyRSSManager(**{k: v for k, v in legacy.items() if k != "name"})
    assert policy.high_bytes == pytest.approx(base + budget, abs=2)


SIZES = {"A": 40, "B": 40, "C": 40, "D": 30, "HUGE": 500}  # MiB
REQS = [(i, k) for i, k in enumerate("A B A C A HUGE A C B D A B C D A D C B A".split())]


@pytest.mark.parametrize("name,cls,params", [("RSSThresholdLRU", RSSThresholdLRU, {"high_water": 0.8, "low_water": 0.5}),
                                             ("RSSThresholdLRU", RSSThresholdLRU, {}),
                                             ("LegacyRSSManager", LegacyRSSManager, {"high_water": 0.8, "low_water": 0.7})])
def test_simulation_model_agrees_with_the_real_policy_with_a_realistic_baseline(name, cls, params):
    baseline, budget = 350 * MiB, 100 * MiB  # a viewer's process is hundreds of MiB before it caches anything
    sizes = {k: v * MiB for k, v in SIZES.items()}
    sim = simulate(name, REQS, sizes, budget, params=params, baseline=baseline)
    memory = FakeMemory(base=baseline)
    table = derive_params({"name": name, **params}, baseline, budget)
    cache = Cache(cls(**{k: v for k, v in table.items() if k != "name"}), rss_probe=memory.rss)
    peak = 0
    for _, key in REQS:
        cache.get_or_load(key, memory.loader(sizes[key]))
        peak = max(peak, memory.rss() - baseline)
    real = cache.stats()
    assert sim["hit_ratio"] == pytest.approx(real["hits"] / real["requests"])
    assert 0 < sim["hit_ratio"] < 1
    assert sim["peak_bytes"] >= peak - 500 * MiB  # HUGE is in memory while it loads, in both


def test_lru_model_by_hand_and_getsizeof_overshoot():
    keys = list("ABCABD")
    assert lru(keys, {k: 10 for k in "ABCD"}, 20)["hit_ratio"] == 0  # capacity 2 objects, cyclic: all misses
    assert lru(keys, {k: 10 for k in "ABCD"}, 30) == {"hit_ratio": 2 / 6, "byte_hit_ratio": 2 / 6, "peak_bytes": 30}
    sizes = {k: 50 for k in "ABCD"}
    old = size_estimated(list("ABCDABCD"), sizes, {k: 1 for k in sizes}, budget=100)  # getsizeof-like estimates
    new = size_estimated(list("ABCDABCD"), sizes, sizes, budget=100)
    assert old["hit_ratio"] == 0.5 and old["peak_bytes"] == 200  # all kept: twice the budget
    assert new["hit_ratio"] == 0.0 and new["peak_bytes"] <= 150  # the budget plus the value being sized


def test_our_lru_agrees_with_libcachesim_lru_on_traces_it_was_not_tuned_on():
    from vizcache.compare.reference import replay

    for seed in range(4):
        rng = np.random.default_rng(seed)
        keys = [int(k) for k in rng.zipf(1.1 + 0.2 * seed, 5000) % 400]
        sizes = {k: int(rng.lognormal(12, 1.5)) + 1 for k in set(keys)}
        total = sum(sizes.values())
        for fraction in (0.02, 0.1, 0.3, 0.8):
            ours, theirs = lru(keys, sizes, int(total * fraction)), replay("LRU", keys, sizes, int(total * fraction))
            assert ours["hit_ratio"] == pytest.approx(theirs["hit_ratio"]), (seed, fraction)
            assert ours["byte_hit_ratio"] == pytest.approx(theirs["byte_hit_ratio"])


def test_age_model_expires_on_request_time():
    sizes = {"A": 1}
    r = simulate("AgeBased", [(0, "A"), (5, "A"), (100, "A")], sizes, 10, params={"max_age": None, "max_idle": 10})
    assert r["hit_ratio"] == pytest.approx(1 / 3)
    r = simulate("AgeBased", [(0, "A"), (5, "A"), (9, "A"), (12, "A")], sizes, 10, params={"max_age": 10, "max_idle": None})
    assert r["hit_ratio"] == pytest.approx(2 / 4)  # loaded at 0, expired by age at 12


def test_recommendation_keeps_the_baseline_when_the_candidate_is_worse():
    runs = [make_run("old", r) for r in range(3)] + [make_run("new|er", r, latency_scale=5.0) for r in range(3)]
    for run in runs:  # both hold the limit
        for row in run["requests"]:
            row[8] = min(row[8], 119 * MiB)
        run["metrics"] = run_metrics(run, TRUE)
    doc = document_with(runs)
    summarise(doc)
    assert doc["decision"]["recommendation"].startswith("Keep old: it meets the objectives")
    assert "switch p95 worse" in doc["decision"]["recommendation"]


def test_hit_ratio_is_not_won_by_holding_more_than_the_budget():
    runs = {"old": arm((0.9,) * 5), "new": arm((0.5,) * 5, seed=1), "other": arm((0.3,) * 5, seed=2)}
    for label, sizing in (("old", 90.0), ("new", 0.0), ("other", 20.0)):
        for i, run in enumerate(runs[label]):
            run["metrics"]["sizing_ms"] = sizing + i * 0.01 * sizing
    summary = {label: summarise_policy(r) for label, r in runs.items()}
    by_metric = {v["metric"]: v for v in verdicts(runs, summary, {}, THRESHOLDS, frozenset({"old"}))}
    assert by_metric["hit_ratio"]["winner"] == "new" and "not judged: old held more than the budget" in by_metric["hit_ratio"]["text"]
    assert by_metric["sizing_ms"]["winner"] == "new"  # costs are judged among all


def test_no_difference_names_the_closest_policy_it_cannot_be_told_apart_from():
    runs = {"a": arm((0.9,) * 5), "b": arm((0.5,) * 5, seed=1), "c": arm((0.97, 0.3, 0.85, 0.9, 0.2), seed=2)}
    summary = {label: summarise_policy(r) for label, r in runs.items()}
    text = {v["metric"]: v for v in verdicts(runs, summary, {}, THRESHOLDS)}["hit_ratio"]["text"]
    assert text.startswith("hit ratio: no detectable difference (a 0.9 [0.9, 0.9], c 0.85 [")
