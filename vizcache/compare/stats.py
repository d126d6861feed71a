"""Medians with 95 % bootstrap intervals, pairwise comparisons in three wordings, and the verdicts.

The unit of resampling is the run. Every repetition replays its own request sequence (drawn from
the experiment's seed), so a run is one draw of the workload and one draw of the machine's noise;
the requests inside a run share its cache state and are not independent, so they are never
resampled one by one. A "runs" metric is the median of one value per run; a "requests" metric
(a latency percentile) is that percentile of the measured requests of every run pooled, and its
interval comes from a block bootstrap: whole runs are resampled and their requests pooled again.
A comparison of two policies resamples the repetitions both ran, the same ones for both (they
replayed the same sequences), and takes the difference of the two statistics. Percentile
bootstrap, 2000 resamples, seeded: the same results give the same report. A comparison is worded
one of three ways: better (or worse), detectable but below the practical threshold, or no
detectable difference.
"""

from __future__ import annotations

import numpy as np

from .metrics import METRICS, REQUEST_VALUES, measured, request_values

RESAMPLES = 2000
CONFIDENCE = 0.95

BETTER, WORSE = "better", "worse"
BELOW_THRESHOLD = "detectable but below the practical threshold"
NO_DIFFERENCE = "no detectable difference"
NOT_MEASURED = "not measured"

Blocks = dict[int, np.ndarray]  # repetition -> the run's values (one for a "runs" metric, its requests' for a "requests" one)


def _rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


def _percentile(blocks: list[np.ndarray], q: float) -> float | None:
    pooled = np.concatenate(blocks) if blocks else np.array([])
    return float(np.percentile(pooled, q)) if len(pooled) else None


def _boot(blocks: list[np.ndarray], q: float, idx: np.ndarray) -> np.ndarray:
    """The statistic of every resample (rows of ``idx``: which blocks); a multiset of blocks is computed once."""
    memo: dict[tuple, float] = {}
    out = np.empty(len(idx))
    for i, row in enumerate(idx):
        key = tuple(sorted(row.tolist()))
        if key not in memo:
            value = _percentile([blocks[j] for j in key], q)
            memo[key] = np.nan if value is None else value
        out[i] = memo[key]
    return out


def _ci(boot: np.ndarray) -> list[float] | None:
    boot = boot[~np.isnan(boot)]
    if not len(boot):
        return None
    alpha = (1 - CONFIDENCE) / 2
    return [float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha))]


def interval_blocks(blocks: Blocks, q: float) -> dict:
    """``{"median", "ci", "n"}``: the q-th percentile of the pooled blocks, its interval resampling whole blocks; n is the blocks."""
    parts = [blocks[k] for k in sorted(blocks) if len(blocks[k])]
    point = _percentile(parts, q)
    if point is None:
        return {"median": None, "ci": None, "n": 0}
    if len(parts) < 2:
        return {"median": point, "ci": None, "n": 1}
    idx = _rng().integers(0, len(parts), size=(RESAMPLES, len(parts)))
    return {"median": point, "ci": _ci(_boot(parts, q, idx)), "n": len(parts)}


def interval(values, q: float | None = None) -> dict:
    """``{"median", "ci", "n"}`` of independent ``values`` (the statistic is the q-th percentile when q is given)."""
    return interval_blocks({i: np.asarray([v], dtype=float) for i, v in enumerate(values) if v is not None}, 50 if q is None else q)


def difference_blocks(a: Blocks, b: Blocks, q: float) -> dict:
    """stat(a) − stat(b), with a 95 % interval. Over the repetitions both have (two or more), resampled in pairs: both
    replayed the same sequence there. Otherwise both groups are resampled independently."""
    a = {k: v for k, v in a.items() if len(v)}
    b = {k: v for k, v in b.items() if len(v)}
    common = sorted(set(a) & set(b))
    paired = len(common) >= 2
    if paired:
        a, b = {k: a[k] for k in common}, {k: b[k] for k in common}
    pa, pb = _percentile(list(a.values()), q), _percentile(list(b.values()), q)
    if pa is None or pb is None:
        return {"median": None, "ci": None}
    point = pa - pb
    if not paired and (len(a) < 2 or len(b) < 2):
        return {"median": point, "ci": None}
    rng = _rng()
    blocks_a, blocks_b = list(a.values()), list(b.values())
    idx_a = rng.integers(0, len(blocks_a), size=(RESAMPLES, len(blocks_a)))
    idx_b = idx_a if paired else rng.integers(0, len(blocks_b), size=(RESAMPLES, len(blocks_b)))
    return {"median": point, "ci": _ci(_boot(blocks_a, q, idx_a) - _boot(blocks_b, q, idx_b))}


def difference(a, b, q: float | None = None) -> dict:
    """stat(a) − stat(b) of two groups of independent values, resampled independently."""
    a = {("a", i): np.asarray([v], dtype=float) for i, v in enumerate(a) if v is not None}
    b = {("b", i): np.asarray([v], dtype=float) for i, v in enumerate(b) if v is not None}
    return difference_blocks(a, b, 50 if q is None else q)  # no repetition in common: resampled independently


def samples(runs: list[dict], metric: str) -> tuple[Blocks, float]:
    """A metric's blocks (repetition -> the run's values) and the percentile to take of them pooled (50: the median)."""
    if METRICS[metric].kind == "requests":
        return {r.get("repetition", i): request_values(measured(r), metric) for i, r in enumerate(runs)}, REQUEST_VALUES[metric][2]
    return {r.get("repetition", i): np.asarray([] if r["metrics"][metric] is None else [r["metrics"][metric]], dtype=float)
            for i, r in enumerate(runs)}, 50


def summarise_policy(runs: list[dict]) -> dict:
    return {metric: interval_blocks(*samples(runs, metric)) for metric in METRICS}


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
    change = difference_blocks(a, b, q)
    if change["median"] is None:
        return {**change, "verdict": NOT_MEASURED, "direction": 0}
    if change["ci"] is None or change["ci"][0] <= 0 <= change["ci"][1]:
        return {**change, "verdict": NO_DIFFERENCE, "direction": 0}
    m = METRICS[metric]
    direction = 1 if (change["ci"][0] > 0) != m.lower_is_better else -1
    mine_value = _percentile([v for v in a.values() if len(v)], q)
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
        if m.kind in ("counter", "context"):
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
