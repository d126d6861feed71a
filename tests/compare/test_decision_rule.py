"""The decision rule (vizcache.compare.decision, docs/compare.md "The decision") on synthetic per-run results.

Each arm is 5 runs of 40 requests whose hit ratio, switch latency, policy overhead and worst excess
over the limit are set by hand, so every scenario says which way the rule must go.
"""

import itertools

import numpy as np
import pytest

from vizcache.compare.decision import decision
from vizcache.compare.metrics import METRICS, MiB
from vizcache.compare.report import _decision_lines
from vizcache.compare.stats import (
    BELOW_THRESHOLD,
    BETTER,
    NO_DIFFERENCE,
    WORSE,
    compare,
    summarise_policy,
    verdicts,
)

THRESHOLDS = {"relative": 0.10, "latency_ms": 1.0}
SPEC = {"baseline": "getsizeof", "memory": "hard", "tolerance": 0.02, "switch_p95_ms": None, "budget_bytes": 100 * MiB}
REQUESTS = 40


def arm(hit_ratios, switch_ms=100.0, overhead_ms=0.05, excess_mib=(0, 0, 0, 0, 0), seed=0):
    """Five runs: per-run hit ratios and worst excess after a request (MiB) given; latencies and overheads jittered by 2 %."""
    runs = []
    for rep, (hit_ratio, excess) in enumerate(zip(hit_ratios, excess_mib)):
        rng = np.random.default_rng(seed * 100 + rep)
        hits = round(hit_ratio * REQUESTS)
        latency = switch_ms * (1 + 0.02 * rng.standard_normal(REQUESTS)) / 1e3
        overhead = overhead_ms * (1 + 0.02 * rng.standard_normal(REQUESTS)) / 1e3
        # t, key, hit, latency s, overhead s, sizing s, gc s, rss max, rss settled, release s
        requests = [[i, "K", i < hits, float(latency[i]), float(overhead[i]), 0.0, 0.0, 0, 0, 0.0] for i in range(REQUESTS)]
        metrics = {m: 0.0 for m, spec in METRICS.items() if spec.kind != "requests"}
        metrics |= {"hit_ratio": hit_ratio, "byte_hit_ratio": hit_ratio, "settled_excess_mib": float(excess),
                    "settled_over_share": 0.1 if excess else 0.0}
        runs.append({"repetition": rep, "status": "ok", "requests": requests, "metrics": metrics})
    return runs


def decide(arms: dict, spec=SPEC) -> dict:
    return decision(arms, {label: summarise_policy(runs) for label, runs in arms.items()}, spec, THRESHOLDS)


def judged(arms: dict, over=frozenset()) -> list[dict]:
    summary = {label: summarise_policy(runs) for label, runs in arms.items()}
    return verdicts(arms, summary, {label: "plain" for label in arms}, THRESHOLDS, over)


GOOD = (0.80, 0.81, 0.80, 0.79, 0.80)
SIMILAR = (0.80, 0.79, 0.81, 0.80, 0.80)
OVER = (55, 60, 55, 58, 55)  # getsizeof keeps everything: far over the 2 MiB tolerance in every run

SCENARIOS = {
    # the baseline fails memory; two candidates hold it and cannot be told apart: a tie, never the first one listed
    "tied candidates": {"getsizeof": arm((0.9,) * 5, excess_mib=OVER), "legacy-rss": arm(GOOD, seed=1), "rss-lru": arm(SIMILAR, seed=2)},
    # the baseline qualifies and two candidates each beat it, one on hit ratio, one on overhead: a tie changes nothing
    "two winners": {"getsizeof": arm((0.6,) * 5, overhead_ms=20.0), "legacy-rss": arm((0.6,) * 5, overhead_ms=0.1, seed=1),
                    "rss-lru": arm(GOOD, overhead_ms=20.0, seed=2)},
    # one candidate beats the baseline and the other candidate
    "one winner": {"getsizeof": arm((0.6,) * 5), "legacy-rss": arm(GOOD, seed=1), "rss-lru": arm(GOOD, switch_ms=50.0, seed=2)},
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_order_of_the_arms_gives_the_same_decision_and_wording(scenario):
    arms = SCENARIOS[scenario]
    outcomes = set()
    for order in itertools.permutations(arms):
        permuted = {label: arms[label] for label in order}
        d = decide(permuted)
        per_policy = tuple(sorted((c["policy"], c["outcome"], tuple(sorted((m, x["verdict"], x["median"], tuple(x["ci"]))
                                                                          for m, x in c["change"].items())))
                                  for c in d["policies"]))
        outcomes.add((d["action"], d["choice"], d["recommendation"], per_policy,
                      tuple(v["text"] for v in judged(permuted, frozenset({"getsizeof"})))))
    assert len(outcomes) == 1, outcomes
    action, choice = next(iter(outcomes))[:2]
    expected = {"tied candidates": ("tie", None), "two winners": ("tie", None), "one winner": ("switch", "rss-lru")}[scenario]
    assert (action, choice) == expected


def test_tied_candidates_say_the_baseline_must_go_but_not_for_which():
    d = decide(SCENARIOS["tied candidates"])
    assert d["recommendation"].startswith("Leave getsizeof (held more than the budget (worst run 60 MiB over the limit, tolerance 2 MiB))")
    assert "legacy-rss and rss-lru meet the objectives and none beats the others" in d["recommendation"]


def test_two_candidates_that_each_beat_the_baseline_without_beating_each_other_change_nothing():
    d = decide(SCENARIOS["two winners"])
    assert d["recommendation"].startswith("Keep getsizeof: legacy-rss and rss-lru each meet the objectives and beat getsizeof")
    assert {c["policy"]: c["outcome"] for c in d["policies"]} == {"legacy-rss": "better", "rss-lru": "better"}


def test_overhead_alone_decides():
    # ab_hats_trace: rss-lru keeps getsizeof's hit ratio and switch latency, holds the limit, and its overhead p95 is 0.12 ms
    # against getsizeof's 20.9 ms
    same = (0.763,) * 5
    d = decide({"getsizeof": arm(same, overhead_ms=20.9), "rss-lru": arm(same, overhead_ms=0.12, seed=1)})
    change = d["policies"][0]["change"]
    assert change["hit_ratio"]["verdict"] == NO_DIFFERENCE and change["switch_p95_ms"]["verdict"] == NO_DIFFERENCE
    assert change["overhead_release_p95_ms"]["verdict"] == BETTER
    assert (d["action"], d["choice"]) == ("switch", "rss-lru")
    assert "rss-lru is better against getsizeof (hit ratio no detectable difference: +0 [+0, +0]; " in d["recommendation"]
    assert "overhead + dropping values p95 better: -21.5 ms [-21.5, -21.3]" in d["recommendation"]
    # the other way round, the heavier policy is worse and the baseline stays
    d = decide({"getsizeof": arm(same, overhead_ms=0.12), "rss-lru": arm(same, overhead_ms=20.9, seed=1)})
    assert d["action"] == "keep" and d["policies"][0]["outcome"] == "worse"


def test_better_below_the_threshold_and_no_detectable_difference_are_three_wordings():
    base = arm((0.90,) * 5)
    better = compare(arm((0.95,) * 5, seed=1), arm((0.80,) * 5), "hit_ratio", THRESHOLDS)  # 0.15 is 16 % of 0.95
    worse = compare(arm((0.70,) * 5, seed=1), base, "hit_ratio", THRESHOLDS)
    # the issue's -0.0625 [-0.075, -0.0625]: the interval excludes zero, but 0.0625 is 7 % of 0.9, under the 10 % threshold
    below = compare(arm((0.8375, 0.8375, 0.825, 0.8375, 0.8375), seed=1), base, "hit_ratio", THRESHOLDS)
    same = compare(arm(SIMILAR, seed=1), arm(GOOD), "hit_ratio", THRESHOLDS)
    assert (better["verdict"], worse["verdict"], below["verdict"], same["verdict"]) == (BETTER, WORSE, BELOW_THRESHOLD, NO_DIFFERENCE)
    assert below["median"] == pytest.approx(-0.0625) and below["ci"][1] < 0 and below["direction"] == -1
    assert same["ci"][0] <= 0 <= same["ci"][1]
    # latencies need the absolute threshold too: 0.5 ms apart is detectable, 25 % apart, and still below it
    lat = compare(arm(GOOD, switch_ms=1.5, seed=1), arm(GOOD, switch_ms=2.0), "switch_p95_ms", THRESHOLDS)
    assert lat["verdict"] == BELOW_THRESHOLD and lat["direction"] == 1
    # a candidate that differs only below the threshold is no reason to switch, and the decision says which wording applies
    d = decide({"getsizeof": base, "rss-lru": arm((0.8375, 0.8375, 0.825, 0.8375, 0.8375), seed=1)})
    assert d["action"] == "keep" and d["policies"][0]["outcome"] == "no practical difference"
    assert "hit ratio detectable but below the practical threshold: -0.0625 [-0.075, -0.0625]" in d["recommendation"]


def test_verdicts_use_the_three_wordings():
    arms = {"getsizeof": arm((0.90,) * 5), "below": arm((0.8375, 0.8375, 0.825, 0.8375, 0.8375), seed=1),
            "noisy": arm((0.6, 0.95, 0.7, 0.9, 0.85), seed=2)}
    hit = {v["metric"]: v for v in judged(arms)}["hit_ratio"]
    assert hit["winner"] is None and hit["text"].startswith("hit ratio: no detectable difference (getsizeof 0.9 [0.9, 0.9], noisy 0.85")
    arms.pop("noisy")
    hit = {v["metric"]: v for v in judged(arms)}["hit_ratio"]
    assert hit["winner"] is None and hit["text"].startswith("hit ratio: detectable but below the practical threshold (getsizeof 0.9")
    arms["low"] = arm((0.5,) * 5, seed=3)
    arms.pop("below")
    hit = {v["metric"]: v for v in judged(arms)}["hit_ratio"]
    assert hit["winner"] == "getsizeof" and hit["text"].startswith("hit ratio: getsizeof is better, 0.9 [0.9, 0.9] against low's 0.5")


def test_switch_p50_is_not_counted_as_a_second_hit_ratio():
    # the candidate's hit ratio is the same, but its fast requests just cross half: switch p50 drops from 100 ms to ~0
    base, cand = arm((0.6,) * 5), arm((0.6,) * 5, seed=1)
    for run in base:
        for row in run["requests"][: REQUESTS // 2 - 4]:
            row[3] = 1e-6
    for run in cand:
        for row in run["requests"][: REQUESTS // 2 + 4]:
            row[3] = 1e-6
    assert compare(cand, base, "switch_p50_ms", THRESHOLDS)["verdict"] == BETTER
    d = decide({"getsizeof": base, "rss-lru": cand})
    assert d["action"] == "keep" and "switch_p50_ms" not in d["policies"][0]["change"]


def test_a_failed_objective_disqualifies_and_the_table_shows_the_figure_that_decided():
    # one run of five left RSS 10 MiB over the limit (tolerance: 2 % of 100 MiB): the median excess is 0, the worst run decides
    arms = {"getsizeof": arm((0.6,) * 5), "rss-lru": arm((0.9,) * 5, excess_mib=(0, 10, 0, 0, 0), seed=1)}
    d = decide(arms)
    c = d["policies"][0]
    assert c["held_limit"] is False and c["worst_excess_mib"] == 10 and c["runs_over"] == 1
    assert c["settled_excess_mib"]["median"] == 0
    assert c["fails"] == ["held more than the budget (worst run 10 MiB over the limit, tolerance 2 MiB)"]
    assert c["change"]["hit_ratio"]["verdict"] == BETTER  # better, and still not a reason to switch
    assert d["action"] == "keep" and "Not qualified: rss-lru held more than the budget" in d["recommendation"]
    table = "\n".join(_decision_lines({"decision": d, "experiment": {"thresholds": THRESHOLDS}}))
    assert "| rss-lru | no | 10 MiB | 1 of 5 |" in table
    # within the tolerance, the same run counts as held
    arms["rss-lru"] = arm((0.9,) * 5, excess_mib=(0, 1.5, 0, 0, 0), seed=1)
    d = decide(arms)
    assert d["policies"][0]["held_limit"] is True and (d["action"], d["choice"]) == ("switch", "rss-lru")
    # a switch-p95 objective: the slower policy fails it
    d = decide({"getsizeof": arm((0.6,) * 5, switch_ms=100.0), "rss-lru": arm((0.9,) * 5, switch_ms=300.0, seed=1)},
               {**SPEC, "switch_p95_ms": 150})
    assert d["policies"][0]["fails"][0].startswith("switch p95 3") and d["action"] == "keep"


def test_no_candidate_and_no_baseline_meeting_the_objectives_is_no_recommendation():
    d = decide({"getsizeof": arm((0.9,) * 5, excess_mib=OVER), "legacy-rss": arm(GOOD, excess_mib=OVER, seed=1)})
    assert d["action"] == "none" and d["choice"] is None
    assert d["recommendation"].startswith("No candidate meets the objectives (legacy-rss held more than the budget")


def test_the_baseline_failing_with_one_qualified_candidate_switches_to_it():
    d = decide({"getsizeof": arm((0.9,) * 5, excess_mib=OVER), "legacy-rss": arm(GOOD, excess_mib=OVER, seed=1),
                "rss-lru": arm(GOOD, seed=2)})
    assert (d["action"], d["choice"]) == ("switch", "rss-lru")
    assert d["recommendation"].startswith("Switch from getsizeof to rss-lru: getsizeof held more than the budget")


def test_the_hit_ratio_verdict_says_why_it_is_missing_when_the_others_went_over():
    arms = {"getsizeof": arm((0.9,) * 5, excess_mib=OVER), "legacy-rss": arm(GOOD, excess_mib=OVER, seed=1),
            "rss-lru": arm(GOOD, seed=2)}
    hit = {v["metric"]: v for v in judged(arms, frozenset({"getsizeof", "legacy-rss"}))}["hit_ratio"]
    assert hit == {"metric": "hit_ratio", "winner": None,
                   "text": "hit ratio: not judged: only rss-lru held the budget (getsizeof, legacy-rss held more than the budget)"}
