"""Workloads and the shipped experiment files."""

from collections import Counter
from pathlib import Path

import pytest

from vizcache.compare.experiment import QUICK_REPETITIONS, QUICK_REQUESTS, load_experiment
from vizcache.compare.workloads import finders, shift

NAMES = ["AMICO", "BOTH", "PZWAV"] + [f"MEMBERS-{i:03d}" for i in range(20)]
SHIPPED = sorted(Path(__file__).resolve().parents[2].joinpath("policies").glob("ab_*.toml"))


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
    assert exp.repetitions >= 5 and exp.decision.baseline == "getsizeof"
    assert {p.label for p in exp.policies} >= {"getsizeof", "legacy-rss", "rss-lru"}
    assert all("budget" not in p.table and "limit" not in p.table for p in exp.policies)  # the experiment's budget rules
    quick = exp.quick()
    assert quick.repetitions == QUICK_REPETITIONS and quick.workload.requests <= QUICK_REQUESTS and quick.budgets == ()
    assert quick.clusters <= exp.quick_clusters


def test_the_seed_experiment_is_at_the_seeds_scale():
    exp = load_experiment(next(p for p in SHIPPED if p.stem == "ab_seed_switching"))
    assert exp.layout == "seed" and exp.clusters == 150_000 and exp.workload.kind == "finders"
    assert exp.workload.stats_after_request and exp.budget.absolute == int(1.5 * 2**30)
    getsizeof_vs_rss = load_experiment(next(p for p in SHIPPED if p.stem == "ab_getsizeof_vs_rss"))
    assert getsizeof_vs_rss.budget.share < 1 and len(getsizeof_vs_rss.budgets) >= 6  # below the working set; a sweep
