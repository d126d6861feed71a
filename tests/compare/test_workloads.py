"""Workloads and the shipped experiment files."""

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from vizcache import read_trace
from vizcache.compare.experiment import QUICK_RECORDED_REQUESTS, QUICK_REPETITIONS, QUICK_REQUESTS, load_experiment
from vizcache.compare.workloads import finders, recorded_keys, shift
from vizcache.memory import RSSProbe

NAMES = ["AMICO", "BOTH", "PZWAV"] + [f"MEMBERS-{i:03d}" for i in range(20)]
ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(ROOT.joinpath("policies").glob("ab_*.toml"))
ORDER_EXPERIMENTS = {"ab_orders_zipf", "ab_orders_recorded_zipf", "ab_hats_trace"}
HATS_TRACE = ROOT / "benchmarks" / "traces" / "hats_large_pan_zoom.jsonl"
MiB = 2**20


def test_shift_moves_the_hot_set_halfway():
    requests = shift(NAMES, 400, seed=3, hot=8, shift_at=0.5, fraction=1.0)
    first, second = {k for _, k in requests[:200]}, {k for _, k in requests[200:]}
    assert len(first) <= 8 and len(second) <= 8 and not first & second
    assert shift(NAMES, 400, seed=3, hot=8) == requests  # deterministic in the seed
    stationary = shift(NAMES, 400, seed=3, hot=8, fraction=0.0)
    assert {k for _, k in stationary[:200]} | {k for _, k in stationary[200:]} == {k for _, k in stationary} and \
        len({k for _, k in stationary}) <= 8
    half = shift(NAMES, 400, seed=3, hot=8, fraction=0.5)
    assert len({k for _, k in half[:200]} & {k for _, k in half[200:]}) <= 4


def test_finders_alternates_a_finder_and_its_members():
    requests = finders(NAMES, 100, seed=1)
    keys = [k for _, k in requests]
    assert set(keys[::2]) == {"AMICO", "BOTH", "PZWAV"}
    assert all(k.startswith("MEMBERS-") for k in keys[1::2])
    assert Counter(keys[1::2]).most_common(1)[0][1] > 3  # popularity is skewed
    times = [t for t, _ in requests]
    assert times == sorted(times) and times[0] == 0


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_experiments_are_fair_and_quick(path):
    exp = load_experiment(path)
    labels = {p.label for p in exp.policies}
    assert exp.repetitions >= 3 and 0 < exp.workload.warmup < exp.workload.requests / 4  # a warm-up, left out
    if path.stem in ORDER_EXPERIMENTS:  # the orders side by side, at one budget
        orders = {p.table.get("order") for p in exp.policies if p.table["name"] == "RSSThresholdLRU"}
        assert {"rss-lru", "rss-s3fifo"} <= labels and orders == {"lru", "s3fifo"}
    else:
        assert exp.decision.baseline == "getsizeof" and labels >= {"getsizeof", "legacy-rss", "rss-lru"}
    assert all("budget" not in p.table and "limit" not in p.table for p in exp.policies)  # the experiment's budget rules
    quick = exp.quick()
    assert quick.repetitions == QUICK_REPETITIONS and quick.workload.requests <= quick.quick_requests and quick.budgets == ()
    assert quick.clusters <= exp.quick_clusters


def test_the_hats_experiment_replays_the_recorded_session_key_by_key():
    exp = load_experiment(ROOT / "policies" / "ab_hats_trace.toml")
    wl = exp.workload
    assert wl.kind == "trace" and wl.recorded and wl.trace == HATS_TRACE and wl.requests >= len(read_trace(HATS_TRACE))
    assert {p.label for p in exp.policies} == {"getsizeof", "legacy-rss", "rss-lru", "rss-s3fifo"}
    assert exp.decision.baseline == "getsizeof" and exp.budget.share <= 0.2  # well below the working set: eviction matters
    quick = exp.quick()
    assert quick.workload.requests == QUICK_RECORDED_REQUESTS and quick.budget == exp.budget  # recorded sizes are not scaled
    assert load_experiment(ROOT / "policies" / "ab_three_arms_shift.toml").quick().workload.requests == QUICK_REQUESTS
    seed = load_experiment(ROOT / "policies" / "ab_seed_switching.toml").quick()  # its own quick_requests
    assert seed.workload.requests == 120 and seed.workload.warmup == 24


def test_recorded_keys_make_every_partition_its_own_entry():
    requests, objects, left_out = recorded_keys(HATS_TRACE)
    rows = read_trace(HATS_TRACE)
    assert left_out == 0 and [k for _, k in requests] == [r["key"] for r in rows]  # every request, in order
    assert len(requests) == 3211 and len(objects) == 286  # hundreds of entries, not one catalog
    first = rows[0]
    assert objects[first["key"]][0] == first["size"]  # the loader-reported size, not the RSS delta
    loads = [r["load_s"] for r in rows if r["key"] == first["key"] and not r["hit"]]
    assert objects[first["key"]][1] == pytest.approx(float(np.median(loads)))


def test_recorded_keys_leave_out_keys_the_trace_never_sizes(tmp_path):
    trace = tmp_path / "t.jsonl"
    rows = [{"t": 0, "key": "A", "hit": False, "load_s": 0.2, "bytes": 900, "size": None},
            {"t": 1, "key": "B", "hit": True, "load_s": 0.0, "bytes": 0},  # recorded only as a hit
            {"t": 2, "key": "A", "hit": True, "load_s": 0.0, "bytes": 0}]
    trace.write_text("".join(json.dumps(r) + "\n" for r in rows))
    requests, objects, left_out = recorded_keys(trace)
    assert requests == [(0.0, "A"), (2.0, "A")] and objects == {"A": (900, 0.2)} and left_out == 1  # the RSS delta as size


def test_a_recorded_value_is_real_memory_of_its_recorded_size():
    from vizcache.compare.worker import recorded_value

    nbytes = 64 * MiB + 20
    probe = RSSProbe()
    before = probe()
    value = recorded_value(nbytes, fill=3.0)
    grown = probe() - before
    assert nbytes - 32 < value.to_numpy().nbytes <= nbytes and float(value.iloc[-1, -1]) == 3.0
    assert grown > 0.9 * nbytes  # every page written: resident, so RSS-driven policies see it


def test_the_seed_experiment_is_at_the_seeds_scale():
    exp = load_experiment(next(p for p in SHIPPED if p.stem == "ab_seed_switching"))
    assert exp.layout == "seed" and exp.clusters == 150_000 and exp.workload.kind == "finders"
    assert exp.workload.stats_after_request and exp.budget.absolute == int(1.5 * 2**30)
    getsizeof_vs_rss = load_experiment(next(p for p in SHIPPED if p.stem == "ab_getsizeof_vs_rss"))
    assert getsizeof_vs_rss.budget.share < 1 and len(getsizeof_vs_rss.budgets) >= 4  # below the working set; a sweep
