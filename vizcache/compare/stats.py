"""Medians with 95 % bootstrap intervals, verdicts that need both separation and a practical size, and the decision.

Intervals: for "runs" metrics (one value per repetition) the bootstrap resamples repetitions;
for "requests" metrics (latency percentiles) it resamples the requests pooled over every
repetition. Percentile bootstrap, 2000 resamples, seeded: the same results give the same report.
"""

from __future__ import annotations

import numpy as np

from .metrics import METRICS, REQUEST_VALUES, request_values

RESAMPLES = 2000
CONFIDENCE = 0.95


def _rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


def _stat(q: float | None):
    if q is None:
        return lambda x, axis=-1: np.median(x, axis=axis)
    return lambda x, axis=-1: np.percentile(x, q, axis=axis)


def _resample(values: np.ndarray, stat, rng: np.random.Generator) -> np.ndarray:
    idx = rng.integers(0, len(values), size=(RESAMPLES, len(values)))
    return stat(values[idx], axis=1)


def interval(values, q: float | None = None) -> dict:
    """``{"median", "ci", "n"}`` of ``values`` (the statistic is the q-th percentile when q is given)."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    if len(arr) == 0:
        return {"median": None, "ci": None, "n": 0}
    point = float(_stat(q)(arr))
    if len(arr) < 2:
        return {"median": point, "ci": None, "n": 1}
    boot = _resample(arr, _stat(q), _rng())
    alpha = (1 - CONFIDENCE) / 2
    return {"median": point, "ci": [float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha))], "n": int(len(arr))}


def difference(a, b, q: float | None = None) -> dict:
    """stat(a) − stat(b) with a 95 % interval from resampling both groups independently."""
    a = np.asarray([v for v in a if v is not None], dtype=float)
    b = np.asarray([v for v in b if v is not None], dtype=float)
    if len(a) == 0 or len(b) == 0:
        return {"median": None, "ci": None}
    stat = _stat(q)
    point = float(stat(a) - stat(b))
    if len(a) < 2 or len(b) < 2:
        return {"median": point, "ci": None}
    rng = _rng()
    boot = _resample(a, stat, rng) - _resample(b, stat, rng)
    alpha = (1 - CONFIDENCE) / 2
    return {"median": point, "ci": [float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha))]}


def samples(runs: list[dict], metric: str) -> tuple[list, float | None]:
    """What a metric's interval is computed over, and the percentile to take (None: the median)."""
    if METRICS[metric].kind == "requests":
        pooled = np.concatenate([request_values(r["requests"], metric) for r in runs]) if runs else np.array([])
        return list(pooled), REQUEST_VALUES[metric][2]
    return [r["metrics"][metric] for r in runs], None


def summarise_policy(runs: list[dict]) -> dict:
    return {metric: interval(*samples(runs, metric)) for metric in METRICS}


# -- verdicts ------------------------------------------------------------------------------


def _apart(a: dict, b: dict) -> bool:
    return a["ci"] is not None and b["ci"] is not None and (a["ci"][1] < b["ci"][0] or b["ci"][1] < a["ci"][0])


def _big_enough(best: float, other: float, unit: str, thresholds: dict) -> bool:
    gap = abs(best - other)
    scale = max(abs(best), abs(other))
    if scale == 0 or gap / scale <= thresholds["relative"]:
        return False
    return unit != "ms" or gap > thresholds["latency_ms"]


def _fmt(s: dict, unit: str) -> str:
    ci = f" [{s['ci'][0]:.3g}, {s['ci'][1]:.3g}]" if s["ci"] else ""
    return f"{s['median']:.3g}{f' {unit}' if unit else ''}{ci}"


#: what a policy can buy by holding more memory than the budget: judged only among policies that held it
NEEDS_BUDGET = ("switch_p50_ms", "switch_p95_ms", "miss_p50_ms", "miss_p95_ms", "hit_ratio", "byte_hit_ratio")


def verdicts(summary: dict[str, dict], hit_paths: dict[str, str], thresholds: dict, over_budget: frozenset = frozenset()) -> list[dict]:
    """One ``{"metric", "winner", "text"}`` per judged metric.

    A winner only when the best policy's interval is apart from every other's and it beats the
    runner-up by more than the thresholds (relative, and absolute ms for latencies). Counters
    are never judged, nor hit latencies between policies that run the same hit path; hit ratio
    and latencies only among the policies that held the budget (more memory buys both).
    """
    out = []
    for metric, m in METRICS.items():
        if m.kind == "counter":
            continue
        if metric in ("hit_p50_ms", "hit_p95_ms") and len(set(hit_paths.values())) < 2:
            continue  # the same code serves every hit: any difference is noise
        if metric == "harness_gc_ms":
            continue  # the harness's own collection, not a policy's doing
        left_out = sorted(label for label in summary if label in over_budget) if metric in NEEDS_BUDGET else []
        rows = [(label, s[metric]) for label, s in summary.items() if s[metric]["median"] is not None and label not in left_out]
        if len(rows) < 2:
            continue
        note = f" (not judged: {', '.join(left_out)} held more than the budget)" if left_out else ""
        rows.sort(key=lambda r: r[1]["median"], reverse=not m.lower_is_better)
        (best, a), (second, b) = rows[0], rows[1]
        overlapping = [(label, other) for label, other in rows[1:] if not _apart(a, other)]
        big = _big_enough(a["median"], b["median"], m.unit, thresholds)
        if not overlapping and big:
            out.append({"metric": metric, "winner": best,
                        "text": f"{m.label}: {best} is better, {_fmt(a, m.unit)} against {second}'s {_fmt(b, m.unit)}{note}"})
        else:
            if overlapping:
                why, (second, b) = "intervals overlap", overlapping[0]
            else:
                why = "difference below the practical threshold"
            out.append({"metric": metric, "winner": None,
                        "text": f"{m.label}: no detectable difference ({why}; {best} {_fmt(a, m.unit)}, {second} {_fmt(b, m.unit)}){note}"})
    return out


# -- the decision --------------------------------------------------------------------------


def _change(mine: list[dict], base: list[dict], metric: str) -> dict:
    a, q = samples(mine, metric)
    b, _ = samples(base, metric)
    return difference(a, b, q)


def _held(runs: list[dict], tolerance_mib: float) -> bool:
    """No request left RSS above the limit by more than the tolerance, in any run."""
    return bool(runs) and all(r["metrics"]["settled_excess_mib"] <= tolerance_mib for r in runs)


def _detectable(change: dict, metric: str, base_value: float | None, thresholds: dict) -> int:
    """+1 when the change is detectably better, -1 detectably worse, 0 otherwise."""
    if change["ci"] is None or base_value is None or (change["ci"][0] <= 0 <= change["ci"][1]):
        return 0
    m = METRICS[metric]
    if not _big_enough(base_value + change["median"], base_value, m.unit, thresholds):
        return 0
    better = change["median"] < 0 if m.lower_is_better else change["median"] > 0
    return 1 if better else -1


def decision(runs_by_label: dict[str, list[dict]], summary: dict[str, dict], spec: dict, thresholds: dict) -> dict:
    """For every policy against the baseline: the limit held or not, latency, hit ratio, overhead; then a recommendation."""
    base = spec["baseline"]
    objective = spec.get("switch_p95_ms")
    tolerance_mib = spec["tolerance"] * spec["budget_bytes"] / 2**20

    def meets(label: str) -> list[str]:
        failed = []
        if spec["memory"] == "hard" and not _held(runs_by_label[label], tolerance_mib):
            failed.append("held more than the budget")
        p95 = summary[label]["switch_p95_ms"]["median"]
        if objective is not None and (p95 is None or p95 > objective):
            failed.append(f"switch p95 {p95:.0f} ms is above the {objective:g} ms objective" if p95 is not None else "no switch latency")
        return failed

    def limit_record(label: str) -> dict:
        s = summary[label]
        return {"held_limit": _held(runs_by_label[label], tolerance_mib), "settled_over_share": s["settled_over_share"],
                "settled_excess_mib": s["settled_excess_mib"], "over_limit_share": s["over_limit_share"],
                "max_excess_mib": s["max_excess_mib"], "fails": meets(label)}

    comparisons = []
    for label in summary:
        if label == base or not runs_by_label[label] or not runs_by_label[base]:
            continue
        changes = {metric: _change(runs_by_label[label], runs_by_label[base], metric)
                   for metric in ("switch_p50_ms", "switch_p95_ms", "hit_ratio", "byte_hit_ratio", "overhead_ms")}
        judged = {metric: _detectable(c, metric, summary[base][metric]["median"], thresholds) for metric, c in changes.items()}
        comparisons.append({"policy": label, **limit_record(label), "change": changes, "detectable": judged})
    base_record = limit_record(base) if runs_by_label.get(base) else None
    return {"baseline": base, "objectives": {"memory": spec["memory"], "tolerance": spec["tolerance"], "switch_p95_ms": objective},
            "baseline_result": base_record, "policies": comparisons,
            "recommendation": _recommend(base, base_record, comparisons)}


def _recommend(base: str, base_record: dict | None, comparisons: list[dict]) -> str:
    if base_record is None:
        return f"No recommendation: the baseline {base} has no finished run."
    qualified = [c for c in comparisons if not c["fails"]]
    if not qualified:
        fails = "; ".join(f"{c['policy']} {', '.join(c['fails'])}" for c in comparisons) or "no other policy ran"
        stay = f" The baseline {base} does not either ({', '.join(base_record['fails'])})." if base_record["fails"] \
            else f" Keep {base}, which meets them."
        return f"No candidate meets the objectives ({fails}).{stay}"

    def score(c: dict) -> tuple:
        d = c["detectable"]
        return (d["hit_ratio"] + d["switch_p95_ms"] + d["switch_p50_ms"], d["hit_ratio"], d["switch_p95_ms"])

    def differences(c: dict) -> str:
        d, ch = c["detectable"], c["change"]
        parts = [f"{name} {'better' if d[m] > 0 else 'worse'} by {abs(ch[m]['median']):.3g}{unit}"
                 for m, name, unit in (("hit_ratio", "hit ratio", ""), ("switch_p95_ms", "switch p95", " ms"),
                                       ("switch_p50_ms", "switch p50", " ms")) if d[m]]
        return ", ".join(parts) if parts else "no detectable difference in hit ratio or switch latency"

    best = max(qualified, key=score)
    if base_record["fails"]:
        share = base_record["settled_over_share"]["median"]
        why = ", ".join(base_record["fails"])
        detail = f" (RSS stayed over the limit after {share:.0%} of requests, by up to {base_record['settled_excess_mib']['median']:.0f} MiB)" \
            if not base_record["held_limit"] and share is not None else ""
        return f"Switch from {base} to {best['policy']}: {base} {why}{detail}; {best['policy']} meets the objectives ({differences(best)})."
    better = [c for c in qualified if any(c["detectable"][m] > 0 for m in ("hit_ratio", "switch_p95_ms", "switch_p50_ms"))
              and not any(c["detectable"][m] < 0 for m in ("hit_ratio", "switch_p95_ms", "switch_p50_ms"))]
    if better:
        pick = max(better, key=score)
        return f"Switch from {base} to {pick['policy']}: both meet the objectives and {pick['policy']} is detectably better ({differences(pick)})."
    worse = [c for c in qualified if any(c["detectable"][m] < 0 for m in ("hit_ratio", "switch_p95_ms", "switch_p50_ms"))]
    if worse:
        return (f"Keep {base}: it meets the objectives and no candidate is detectably better without being detectably worse ("
                + "; ".join(f"{c['policy']}: {differences(c)}" for c in worse) + ").")
    return f"Either will do: {base} and {', '.join(c['policy'] for c in qualified)} meet the objectives with no detectable difference in hit ratio or switch latency."
