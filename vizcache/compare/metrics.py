"""Metrics of one run, and their spread across repetitions. Pure functions of the worker's result."""

from __future__ import annotations

import numpy as np

#: metric -> (label, unit, lower is better)
METRICS = {
    "hit_p50_ms": ("hit latency p50", "ms", True), "hit_p95_ms": ("hit latency p95", "ms", True),
    "hit_p99_ms": ("hit latency p99", "ms", True), "hit_max_ms": ("hit latency max", "ms", True),
    "miss_p50_ms": ("miss latency p50", "ms", True), "miss_p95_ms": ("miss latency p95", "ms", True),
    "miss_p99_ms": ("miss latency p99", "ms", True), "miss_max_ms": ("miss latency max", "ms", True),
    "switch_p95_ms": ("switch latency p95 (all requests)", "ms", True),
    "hit_ratio": ("hit ratio", "", False), "byte_hit_ratio": ("byte hit ratio", "", False),
    "loads": ("loads", "", True), "evictions": ("evictions", "", True), "rejections": ("rejections", "", True),
    "peak_rss_mib": ("peak RSS", "MiB", True), "over_limit_s": ("time over the limit", "s", True),
    "reclaimed_per_eviction_mib": ("RSS reclaimed per eviction", "MiB", False),
    "overhead_ms": ("policy overhead (probes, sizing, gc + trim)", "ms", True),
    "measured_error": ("measured-bytes error (median |measured - true| / true)", "", True),
    "estimated_error": ("estimated-bytes error (median |estimated - true| / true)", "", True),
}
MiB = 2**20


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    arr = np.asarray(values) * 1e3
    return {"p50": float(np.percentile(arr, 50)), "p95": float(np.percentile(arr, 95)),
            "p99": float(np.percentile(arr, 99)), "max": float(arr.max())}


def _relative_error(pairs: list[tuple[float, float]]) -> float | None:
    errors = [abs(accounted - true) / true for accounted, true in pairs if accounted is not None and true]
    return float(np.median(errors)) if errors else None


def time_over(samples: list[tuple[float, int]], limit: int) -> float:
    """Seconds the sampled RSS spent above ``limit`` (each sample stands until the next)."""
    total = 0.0
    for (t0, rss), (t1, _) in zip(samples, samples[1:]):
        if rss > limit:
            total += t1 - t0
    return total


def run_metrics(result: dict) -> dict[str, float | None]:
    """The report's metrics for one run (``requests`` rows: t, key, hit, latency s, true bytes)."""
    requests = result["requests"]
    hits = [r[3] for r in requests if r[2]]
    misses = [r[3] for r in requests if not r[2]]
    all_bytes = sum(r[4] for r in requests)
    stats = result["stats"]
    h, m = _percentiles(hits), _percentiles(misses)
    metrics = {f"hit_{k}_ms": v for k, v in h.items()} | {f"miss_{k}_ms": v for k, v in m.items()}
    metrics |= {
        "switch_p95_ms": _percentiles([r[3] for r in requests])["p95"],
        "hit_ratio": len(hits) / len(requests) if requests else None,
        "byte_hit_ratio": sum(r[4] for r in requests if r[2]) / all_bytes if all_bytes else None,
        "loads": stats["loads"], "evictions": stats["evictions"] + stats["expirations"], "rejections": stats["rejections"],
        "peak_rss_mib": max([rss for _, rss in result["rss"]] + [result.get("peak_rss") or 0]) / MiB,
        "over_limit_s": time_over(result["rss"], result["limit"]),
        "reclaimed_per_eviction_mib": float(np.mean(result["reclaimed"])) / MiB if result["reclaimed"] else None,
        "overhead_ms": 1e3 * (stats["probe_seconds"] + stats["sizing_seconds"] + stats["reclaim_seconds"]),
        "measured_error": _relative_error([(a["measured"], a["true"]) for a in result["accounting"]]),
        "estimated_error": _relative_error([(a["estimated"], a["true"]) for a in result["accounting"]]),
    }
    return metrics


def spread(values: list[float | None]) -> dict[str, float | None]:
    """Median, min and max across repetitions (missing values left out)."""
    present = [v for v in values if v is not None]
    if not present:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": float(np.median(present)), "min": float(min(present)), "max": float(max(present)), "n": len(present)}


def verdicts(summary: dict[str, dict[str, dict]]) -> list[str]:
    """One line per metric: the best policy and by how much it beats the runner-up, from the numbers."""
    lines = []
    for metric, (label, unit, lower) in METRICS.items():
        rows = [(policy, m[metric]["median"]) for policy, m in summary.items() if m.get(metric, {}).get("median") is not None]
        if len(rows) < 2:
            continue
        rows.sort(key=lambda r: r[1], reverse=not lower)
        (best, a), (second, b) = rows[0], rows[1]
        if a == b or (a and b and max(a, b) / min(a, b) < 1.05):
            lines.append(f"{label}: {best} ({_fmt(a, unit)}) and {second} ({_fmt(b, unit)}) are within 5%")
            continue
        if lower:
            how = f"{b / a:.1f}× lower" if a > 0 else f"{_fmt(b - a, unit)} lower"
        else:
            how = f"{a / b:.1f}× higher" if b > 0 else f"{_fmt(a - b, unit)} higher"
        lines.append(f"{label}: best {best} ({_fmt(a, unit)}), {how} than {second} ({_fmt(b, unit)})")
    return lines


def _fmt(value: float, unit: str) -> str:
    if unit == "":
        return f"{value:.3g}"
    return f"{value:.3g} {unit}"
