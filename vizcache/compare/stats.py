"""Medians with 95 % bootstrap intervals, pairwise comparisons in three wordings, and the verdicts.

Intervals: for "runs" metrics (one value per repetition) the bootstrap resamples repetitions;
for "requests" metrics (latency percentiles) it resamples the requests pooled over every
repetition. Percentile bootstrap, 2000 resamples, seeded: the same results give the same report.
A comparison of two policies is the difference of their statistics with a bootstrap interval
(both groups resampled independently), worded one of three ways: better (or worse), detectable
but below the practical threshold, or no detectable difference.
"""

from __future__ import annotations

import numpy as np

from .metrics import METRICS, REQUEST_VALUES, request_values

RESAMPLES = 2000
CONFIDENCE = 0.95

BETTER, WORSE = "better", "worse"
BELOW_THRESHOLD = "detectable but below the practical threshold"
NO_DIFFERENCE = "no detectable difference"
NOT_MEASURED = "not measured"


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
    """What a metric's interval is computed over, and the percentile to take (None: the median).

    Runs are taken in repetition order, so the pooled requests (and so the bootstrap) do not depend
    on the order the runs finished in.
    """
    runs = sorted(runs, key=lambda r: r.get("repetition", 0))
    if METRICS[metric].kind == "requests":
        pooled = np.concatenate([request_values(r["requests"], metric) for r in runs]) if runs else np.array([])
        return list(pooled), REQUEST_VALUES[metric][2]
    return [r["metrics"][metric] for r in runs], None


def summarise_policy(runs: list[dict]) -> dict:
    return {metric: interval(*samples(runs, metric)) for metric in METRICS}


# -- comparisons ---------------------------------------------------------------------------


def practical(a: float, b: float, unit: str, thresholds: dict) -> bool:
    """Whether a and b differ by more than the practical threshold: more than ``relative`` of the
    larger magnitude, and (for milliseconds) more than ``latency_ms`` too."""
    gap = abs(a - b)
    scale = max(abs(a), abs(b))
    if scale == 0 or gap / scale <= thresholds["relative"]:
        return False
    return unit != "ms" or gap > thresholds["latency_ms"]


def threshold_text(metric: str, thresholds: dict) -> str:
    relative = f"{thresholds['relative']:.0%} of the larger value"
    return f"{relative} and {thresholds['latency_ms']:g} ms" if METRICS[metric].unit == "ms" else relative


def compare(mine: list[dict], other: list[dict], metric: str, thresholds: dict) -> dict:
    """``mine`` − ``other`` on one metric: ``{"median", "ci", "verdict", "direction"}``.

    ``direction`` is +1 when the interval says ``mine`` is better, −1 worse, 0 when it includes
    zero. ``verdict`` is BETTER or WORSE only when the change also passes the practical threshold;
    an interval that excludes zero with a smaller change is BELOW_THRESHOLD.
    """
    a, q = samples(mine, metric)
    b, _ = samples(other, metric)
    change = difference(a, b, q)
    if change["median"] is None:
        return {**change, "verdict": NOT_MEASURED, "direction": 0}
    if change["ci"] is None or change["ci"][0] <= 0 <= change["ci"][1]:
        return {**change, "verdict": NO_DIFFERENCE, "direction": 0}
    m = METRICS[metric]
    direction = 1 if (change["ci"][0] > 0) != m.lower_is_better else -1
    mine_value = float(_stat(q)(np.asarray([v for v in a if v is not None], dtype=float)))
    if not practical(mine_value, mine_value - change["median"], m.unit, thresholds):
        return {**change, "verdict": BELOW_THRESHOLD, "direction": direction}
    return {**change, "verdict": BETTER if direction > 0 else WORSE, "direction": direction}


def mirrored(c: dict) -> dict:
    """The same comparison seen from the other side (other − mine)."""
    flip = {BETTER: WORSE, WORSE: BETTER}
    return {"median": None if c["median"] is None else -c["median"], "ci": None if c["ci"] is None else [-c["ci"][1], -c["ci"][0]],
            "verdict": flip.get(c["verdict"], c["verdict"]), "direction": -c["direction"]}


def change_text(c: dict, unit: str = "") -> str:
    """``+0.025 [+0.0125, +0.0375]`` (unit after the point estimate)."""
    if c["median"] is None:
        return "–"
    ci = f" [{c['ci'][0]:+.3g}, {c['ci'][1]:+.3g}]" if c.get("ci") else ""
    return f"{c['median']:+.3g}{f' {unit}' if unit else ''}{ci}"


# -- verdicts ------------------------------------------------------------------------------


def _fmt(s: dict, unit: str) -> str:
    ci = f" [{s['ci'][0]:.3g}, {s['ci'][1]:.3g}]" if s["ci"] else ""
    return f"{s['median']:.3g}{f' {unit}' if unit else ''}{ci}"


#: what a policy can buy by holding more memory than the budget: judged only among policies that held it
NEEDS_BUDGET = ("switch_p50_ms", "switch_p95_ms", "miss_p50_ms", "miss_p95_ms", "hit_ratio", "byte_hit_ratio")


def verdicts(runs_by_label: dict[str, list[dict]], summary: dict[str, dict], hit_paths: dict[str, str], thresholds: dict,
             over_budget: frozenset = frozenset()) -> list[dict]:
    """One ``{"metric", "winner", "text"}`` per judged metric, the same whatever order the policies come in.

    The best policy (by median; ties by label) is compared with every other: it wins when it is
    BETTER than each; otherwise the verdict names the closest policy it cannot be told apart from
    (no detectable difference) or only by less than the practical threshold. Counters are never
    judged, nor hit latencies between policies that run the same hit path; hit ratio and latencies
    only among the policies that held the budget (more memory buys both), and the verdict says so.
    """
    out = []
    for metric, m in METRICS.items():
        if m.kind == "counter":
            continue
        if metric in ("hit_p50_ms", "hit_p95_ms") and len(set(hit_paths.values())) < 2:
            continue  # the same code serves every hit: any difference is noise
        if metric == "harness_gc_ms":
            continue  # the harness's own collection, not a policy's doing
        measured = sorted(label for label, s in summary.items() if s[metric]["median"] is not None)
        left_out = [label for label in measured if label in over_budget] if metric in NEEDS_BUDGET else []
        rows = [(label, summary[label][metric]) for label in measured if label not in left_out]
        note = f" (not judged: {', '.join(left_out)} held more than the budget)" if left_out else ""
        if len(rows) < 2:
            if left_out:
                held = f"only {rows[0][0]} held the budget" if rows else "no policy held the budget"
                out.append({"metric": metric, "winner": None,
                            "text": f"{m.label}: not judged: {held} ({', '.join(left_out)} held more than the budget)"})
            continue
        sign = 1 if m.lower_is_better else -1
        rows.sort(key=lambda r: (sign * r[1]["median"], r[0]))
        best, a = rows[0]
        against = [(label, s, compare(runs_by_label[best], runs_by_label[label], metric, thresholds)) for label, s in rows[1:]]
        for wording in (NO_DIFFERENCE, BELOW_THRESHOLD):
            close = [x for x in against if x[2]["verdict"] in (wording, NOT_MEASURED)]
            if close:
                label, b, c = close[0]
                out.append({"metric": metric, "winner": None,
                            "text": f"{m.label}: {wording} ({best} {_fmt(a, m.unit)}, {label} {_fmt(b, m.unit)}; "
                                    f"difference {change_text(c, m.unit)}){note}"})
                break
        else:
            label, b, c = against[0]
            out.append({"metric": metric, "winner": best,
                        "text": f"{m.label}: {best} is better, {_fmt(a, m.unit)} against {label}'s {_fmt(b, m.unit)} "
                                f"(difference {change_text(c, m.unit)}){note}"})
    return out
