"""The decision: objectives first, then a Pareto comparison with the baseline (docs/compare.md, "The decision").

1. Objectives, for every policy the baseline included: with ``memory = "hard"`` a policy holds the
   budget when its worst run's largest excess over the limit after a request (a figure the report's
   table shows) is at most ``tolerance`` × budget; with ``switch_p95_ms`` its switch p95 must be at
   most that. A policy that misses one does not qualify.
2. Pareto comparison on three criteria, each a difference with a bootstrap interval and the
   practical threshold: hit ratio, switch p95, and policy overhead + dropping values per request
   (p95). A criterion counts only as BETTER or WORSE; a change that is detectable but below the
   threshold, or not detectable, counts as neither. Switch p50 is not a criterion: it moves when the
   hit ratio crosses 0.5, which would count the hit ratio twice.
3. The pick, from sets only (so the order the policies are listed in cannot change it):
   * baseline qualifies: the candidates that qualify and beat it (better on one criterion, worse on
     none); of those, the ones no other of them beats. One: switch to it. None: keep the baseline.
     More than one: a tie, and a tie changes nothing.
   * baseline fails: the qualifying candidates no other qualifying candidate beats. One: switch to
     it. None qualify: no recommendation. More than one: a tie: the baseline has to go, the results
     do not say for which.
"""

from __future__ import annotations

from .metrics import METRICS, MiB
from .stats import BETTER, WORSE, change_text, compare, mirrored

#: the criteria of the Pareto comparison, with the names the recommendation uses
CRITERIA = {"hit_ratio": "hit ratio", "switch_p95_ms": "switch p95", "overhead_release_p95_ms": "overhead + dropping values p95"}


def objectives(runs: list[dict], summary: dict, spec: dict) -> dict:
    """Whether one policy meets the objectives, judged on the figures the decision table shows."""
    tolerance_mib = spec["tolerance"] * spec["budget_bytes"] / MiB
    excesses = [r["metrics"]["settled_excess_mib"] for r in runs]
    worst = max(excesses) if runs and None not in excesses else None
    held = worst is not None and worst <= tolerance_mib
    fails = []
    if spec["memory"] == "hard" and not held:
        fails.append("held more than the budget" + (f" (worst run {worst:.3g} MiB over the limit, tolerance {tolerance_mib:.3g} MiB)"
                                                   if worst is not None else " (no figure)"))
    p95 = summary["switch_p95_ms"]["median"]
    objective = spec.get("switch_p95_ms")
    if objective is not None and (p95 is None or p95 > objective):
        fails.append(f"switch p95 {p95:.0f} ms is above the {objective:g} ms objective" if p95 is not None else "no switch latency")
    return {"held_limit": held, "worst_excess_mib": worst, "tolerance_mib": tolerance_mib,
            "runs_over": sum(1 for e in excesses if e is not None and e > 0), "runs": len(runs),
            "settled_over_share": summary["settled_over_share"], "settled_excess_mib": summary["settled_excess_mib"],
            "over_limit_share": summary["over_limit_share"], "max_excess_mib": summary["max_excess_mib"],
            "switch_p95_ms": summary["switch_p95_ms"], "fails": fails}


def _criteria(mine: list[dict], other: list[dict], thresholds: dict) -> dict:
    return {metric: compare(mine, other, metric, thresholds) for metric in CRITERIA}


def _beats(criteria: dict) -> bool:
    verdicts = [c["verdict"] for c in criteria.values()]
    return BETTER in verdicts and WORSE not in verdicts


def outcome(criteria: dict) -> str:
    """One word for a comparison: better, worse, a trade-off, or no practical difference."""
    verdicts = {c["verdict"] for c in criteria.values()}
    if BETTER in verdicts:
        return "a trade-off" if WORSE in verdicts else "better"
    return "worse" if WORSE in verdicts else "no practical difference"


def describe(criteria: dict) -> str:
    """Every criterion in its wording, e.g. ``hit ratio better: +0.1 [+0.08, +0.12]; switch p95 no detectable difference: ...``."""
    return "; ".join(f"{CRITERIA[metric]} {c['verdict']}: {change_text(c, METRICS[metric].unit)}" for metric, c in criteria.items())


def decision(runs_by_label: dict[str, list[dict]], summary: dict[str, dict], spec: dict, thresholds: dict) -> dict:
    """Objectives for every policy, the Pareto comparison of each with the baseline, and one recommendation."""
    base = spec["baseline"]
    ran = sorted(label for label in summary if runs_by_label.get(label))
    records = {label: objectives(runs_by_label[label], summary[label], spec) for label in ran}
    base_record = records.get(base)
    comparisons = []
    for label in summary:  # the table keeps the experiment's order; nothing below depends on it
        if label == base or label not in records or base_record is None:
            continue
        criteria = _criteria(runs_by_label[label], runs_by_label[base], thresholds)
        comparisons.append({"policy": label, **records[label], "change": criteria, "outcome": outcome(criteria)})
    pairs = {}
    qualified = sorted(c["policy"] for c in comparisons if not c["fails"])
    for i, a in enumerate(qualified):
        for b in qualified[i + 1:]:  # each pair once, in label order: b − a is a − b mirrored, not a second bootstrap
            pairs[(a, b)] = _criteria(runs_by_label[a], runs_by_label[b], thresholds)
            pairs[(b, a)] = {metric: mirrored(c) for metric, c in pairs[(a, b)].items()}
    action, choice, text = _recommend(base, base_record, comparisons, pairs)
    return {"baseline": base, "objectives": {"memory": spec["memory"], "tolerance": spec["tolerance"], "switch_p95_ms": spec.get("switch_p95_ms"),
                                             "criteria": list(CRITERIA)},
            "baseline_result": base_record, "policies": comparisons, "action": action, "choice": choice, "recommendation": text}


def _front(labels: list[str], pairs: dict) -> list[str]:
    """The labels no other label beats."""
    return [a for a in labels if not any(_beats(pairs[(b, a)]) for b in labels if b != a)]


def _recommend(base: str, base_record: dict | None, comparisons: list[dict], pairs: dict) -> tuple[str, str | None, str]:
    """``(action, policy, text)``: action is "switch", "keep", "tie" or "none"."""
    if base_record is None:
        return "none", None, f"No recommendation: the baseline {base} has no finished run."
    by_label = {c["policy"]: c for c in comparisons}
    qualified = sorted(label for label, c in by_label.items() if not c["fails"])
    failing = "; ".join(f"{label} {', '.join(by_label[label]['fails'])}" for label in sorted(by_label) if by_label[label]["fails"])
    if not base_record["fails"]:
        winners = [label for label in qualified if _beats(by_label[label]["change"])]
        front = _front(winners, pairs) or winners  # empty only when they beat each other in a circle: all tied
        if len(front) == 1:
            pick = front[0]
            beaten = [label for label in winners if label != pick]
            also = f"; it also beats {', '.join(beaten)}" if beaten else ""
            return "switch", pick, (f"Switch from {base} to {pick}: both meet the objectives and {pick} is better against {base} "
                                    f"({describe(by_label[pick]['change'])}){also}.")
        if front:
            return "tie", None, (f"Keep {base}: {' and '.join(front)} each meet the objectives and beat {base}, but none of them beats "
                                 "another (" + "; ".join(f"{a} against {b}: {describe(pairs[(a, b)])}" for a, b in _pairs_of(front))
                                 + "): a tie changes nothing.")
        others = [f"{label}: {by_label[label]['outcome']} ({describe(by_label[label]['change'])})" for label in qualified]
        why = "; ".join(others) if others else "no other policy meets them"
        return "keep", None, (f"Keep {base}: it meets the objectives and no candidate that meets them is better on one criterion "
                              f"and worse on none ({why})" + (f". Not qualified: {failing}" if failing else "") + ".")
    base_fails = ", ".join(base_record["fails"])
    if not qualified:
        return "none", None, (f"No candidate meets the objectives ({failing or 'no other policy ran'}). "
                              f"The baseline {base} does not either ({base_fails}).")
    front = _front(qualified, pairs) or qualified
    if len(front) == 1:
        pick = front[0]
        beaten = [label for label in qualified if label != pick]
        also = f" and beats {', '.join(beaten)}" if beaten else ""
        return "switch", pick, (f"Switch from {base} to {pick}: {base} {base_fails}; {pick} meets the objectives{also} "
                                f"(against {base}: {describe(by_label[pick]['change'])}).")
    return "tie", None, (f"Leave {base} ({base_fails}), but for which the results do not say: {' and '.join(front)} meet the "
                         "objectives and none beats the others ("
                         + "; ".join(f"{a} against {b}: {describe(pairs[(a, b)])}" for a, b in _pairs_of(front)) + ").")


def _pairs_of(labels: list[str]) -> list[tuple[str, str]]:
    return [(a, b) for i, a in enumerate(labels) for b in labels[i + 1:]]
