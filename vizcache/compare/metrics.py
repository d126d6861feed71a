"""Metrics of one run: pure functions of the worker's result and the catalogs' true sizes.

A worker's ``requests`` rows are ``[t, key, hit, latency_s, overhead_s, sizing_s, gc_s, rss_max, rss_settled,
release_s, managed_bytes, cached_true_bytes]``: ``overhead_s`` is the policy's own time in that request (RSS
probes, size estimates, gc + trim after evictions), ``release_s`` the time spent dropping values — evicted
by the cache, or rejected by it and dropped by the caller — while the allocator and kernel take their
memory back (any policy pays it for the bytes it lets go, so it is reported beside the overhead, not
hidden in it), ``gc_s`` the harness's fixed collection after it (the same in every run, so reported apart),
``rss_max`` the highest RSS seen while the request ran (sampled every 5 ms) or
right after it, ``rss_settled`` the RSS once the request's garbage was collected: what the
cache holds. A load's transient memory (reading, converting) shows in the first, not the second.
``managed_bytes`` is what the cache's entries account for after the request, ``cached_true_bytes`` the
true size of the keys it holds then. With threads the per-request overhead, sizing and release are
``None`` (the cache's counters are shared by every thread): those metrics are not measured.

The first ``result["warmup"]`` requests fill the cache: hit ratios and latencies leave them out
and they are reported apart (``warmup_*``); the memory metrics count every request, since a
policy must hold the limit from the first one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MiB = 2**20
T, KEY, HIT, LATENCY, OVERHEAD, SIZING, GC, RSS, SETTLED, RELEASE, MANAGED, CACHED_TRUE = range(12)


@dataclass(frozen=True)
class Metric:
    label: str  # never contains "|": it goes into Markdown tables
    unit: str
    lower_is_better: bool
    kind: str  # "requests": a percentile of the measured requests pooled over runs; "runs": one value a run (the median
    #            over runs); both with intervals from a bootstrap over runs. "counter": a raw count, "context": what the workload
    #            allowed (the same sequences for every policy): shown, never judged


METRICS = {
    "switch_p50_ms": Metric("switch latency p50", "ms", True, "requests"),
    "switch_p95_ms": Metric("switch latency p95", "ms", True, "requests"),
    "hit_p50_ms": Metric("hit latency p50", "ms", True, "requests"),
    "hit_p95_ms": Metric("hit latency p95", "ms", True, "requests"),
    "miss_p50_ms": Metric("miss latency p50", "ms", True, "requests"),
    "miss_p95_ms": Metric("miss latency p95", "ms", True, "requests"),
    "overhead_p95_ms": Metric("policy overhead per request p95", "ms", True, "requests"),
    "release_p95_ms": Metric("dropping evicted or rejected values per request p95", "ms", True, "requests"),
    "overhead_release_p95_ms": Metric("policy overhead and dropping values per request p95", "ms", True, "requests"),
    "hit_ratio": Metric("hit ratio", "", False, "runs"),
    "byte_hit_ratio": Metric("byte hit ratio", "", False, "runs"),
    "cold_ceiling": Metric("hit-ratio ceiling (requests after warm-up for a key not asked for before are misses)", "", False, "context"),
    "warmup_hit_ratio": Metric("warm-up hit ratio (left out of the hit ratio)", "", False, "context"),
    "warmup_switch_ms": Metric("warm-up switch latency, mean (left out of the latencies)", "ms", True, "context"),
    "settled_over_share": Metric("share of requests after which RSS stayed over the limit", "", True, "runs"),
    "settled_excess_mib": Metric("largest excess over the limit after a request", "MiB", True, "runs"),
    "over_limit_share": Metric("share of requests during which RSS went over the limit", "", True, "runs"),
    "max_excess_mib": Metric("largest excess over the limit, loads' transients included", "MiB", True, "runs"),
    "accounting_error_mib": Metric("largest accounting error after a request: abs(entries' counted size - true size)", "MiB", True, "runs"),
    "peak_above_baseline_mib": Metric("peak RSS above baseline", "MiB", True, "runs"),
    "overhead_ms": Metric("policy overhead per request, mean", "ms", True, "runs"),
    "probe_ms": Metric("RSS probes per request", "ms", True, "runs"),
    "sizing_ms": Metric("size estimates per request", "ms", True, "runs"),
    "reclaim_ms": Metric("gc + trim after evictions per request", "ms", True, "runs"),
    "release_ms": Metric("dropping evicted or rejected values per request, mean", "ms", True, "runs"),
    "harness_gc_ms": Metric("harness gc.collect per request (same for all)", "ms", True, "runs"),
    "estimated_error": Metric("size estimate error, median of abs(estimate - true) / true", "", True, "runs"),
    "rss_delta_error": Metric("RSS-delta error, median of abs(delta - true) / true", "", True, "runs"),
    "reclaimed_per_eviction_mib": Metric("RSS given back per eviction", "MiB", False, "runs"),
    "loads": Metric("loads", "", True, "counter"),
    "evictions": Metric("evictions", "", True, "counter"),
    "rejections": Metric("rejections", "", True, "counter"),
}

#: requests metric -> (which requests, the columns summed, percentile)
REQUEST_VALUES = {
    "switch_p50_ms": ("all", (LATENCY,), 50), "switch_p95_ms": ("all", (LATENCY,), 95),
    "hit_p50_ms": ("hits", (LATENCY,), 50), "hit_p95_ms": ("hits", (LATENCY,), 95),
    "miss_p50_ms": ("misses", (LATENCY,), 50), "miss_p95_ms": ("misses", (LATENCY,), 95),
    "overhead_p95_ms": ("all", (OVERHEAD,), 95),
    "release_p95_ms": ("all", (RELEASE,), 95),
    "overhead_release_p95_ms": ("all", (OVERHEAD, RELEASE), 95),
}


def measured(result: dict) -> list[list]:
    """The requests after the warm-up: the ones hit ratios and latencies are computed on."""
    return result["requests"][result.get("warmup", 0):]


def request_values(requests: list[list], metric: str) -> np.ndarray:
    """The per-request values (ms) a requests metric is a percentile of."""
    which, columns, _ = REQUEST_VALUES[metric]
    keep = {"all": lambda r: True, "hits": lambda r: r[HIT], "misses": lambda r: not r[HIT]}[which]
    if any(len(r) <= max(columns) or any(r[c] is None for c in columns) for r in requests):
        return np.asarray([], dtype=float)  # a result written before the column existed, or not measured: no figure, not a zero
    return np.asarray([sum(r[c] for c in columns) * 1e3 for r in requests if keep(r)], dtype=float)


def _relative_error(pairs: list[tuple[float | None, float]]) -> float | None:
    errors = [abs(accounted - true) / true for accounted, true in pairs if accounted is not None and true]
    return float(np.median(errors)) if errors else None


def run_metrics(result: dict, true_sizes: dict[str, int]) -> dict[str, float | None]:
    """The report's metrics for one run."""
    requests, after = result["requests"], measured(result)
    warmup = requests[: len(requests) - len(after)]
    n = len(requests)
    stats = result["stats"]
    metrics: dict[str, float | None] = {}
    for name, (_, _, q) in REQUEST_VALUES.items():
        values = request_values(after, name)
        metrics[name] = float(np.percentile(values, q)) if len(values) else None
    all_bytes = sum(true_sizes[r[KEY]] for r in after)
    seen = {r[KEY] for r in warmup}
    first = 0
    for r in after:
        first += r[KEY] not in seen
        seen.add(r[KEY])
    accounting = [abs(r[MANAGED] - r[CACHED_TRUE]) for r in requests if len(r) > CACHED_TRUE and r[CACHED_TRUE] is not None]
    rss = np.asarray([r[RSS] for r in requests], dtype=float)
    settled = np.asarray([r[SETTLED] for r in requests], dtype=float)
    peak = max(float(rss.max()) if n else 0.0, float(result.get("peak_rss") or 0))

    def per_request(seconds: float) -> float | None:
        return 1e3 * seconds / n if n else None

    metrics |= {
        "hit_ratio": sum(1 for r in after if r[HIT]) / len(after) if after else None,
        "byte_hit_ratio": sum(true_sizes[r[KEY]] for r in after if r[HIT]) / all_bytes if all_bytes else None,
        "cold_ceiling": 1 - first / len(after) if after else None,
        "warmup_hit_ratio": sum(1 for r in warmup if r[HIT]) / len(warmup) if warmup else None,
        "warmup_switch_ms": 1e3 * float(np.mean([r[LATENCY] for r in warmup])) if warmup else None,
        "accounting_error_mib": max(accounting) / MiB if accounting and len(accounting) == n else None,
        "settled_over_share": float(np.mean(settled > result["limit"])) if n else None,
        "settled_excess_mib": max(0.0, float(settled.max()) - result["limit"]) / MiB if n else None,
        "over_limit_share": float(np.mean(rss > result["limit"])) if n else None,
        "max_excess_mib": max(0.0, peak - result["limit"]) / MiB,
        "peak_above_baseline_mib": (peak - result["baseline_rss"]) / MiB,
        "overhead_ms": per_request(stats["probe_seconds"] + stats["sizing_seconds"] + stats["reclaim_seconds"]),
        "probe_ms": per_request(stats["probe_seconds"]),
        "sizing_ms": per_request(stats["sizing_seconds"]),
        "reclaim_ms": per_request(stats["reclaim_seconds"]),
        "release_ms": per_request(sum(r[RELEASE] for r in requests))
        if all(len(r) > RELEASE and r[RELEASE] is not None for r in requests) else None,
        "harness_gc_ms": per_request(sum(r[GC] for r in requests)),
        "estimated_error": _relative_error([(a["estimated"], true_sizes[a["key"]]) for a in result["accounting"]]),
        "rss_delta_error": _relative_error([(a["rss_delta"], true_sizes[a["key"]]) for a in result["accounting"]]),
        "reclaimed_per_eviction_mib": float(np.mean(result["reclaimed"])) / MiB if result["reclaimed"] else None,
        "loads": stats["loads"], "evictions": stats["evictions"] + stats["expirations"], "rejections": stats["rejections"],
    }
    return metrics
