"""The cache and its shadows in Prometheus' text format (version 0.0.4), as ``vizcache serve`` serves it at /vizcache/metrics.

Only numbers and fixed names go out: no key, catalog, path or session appears in a metric name or
label (the labels are the shadow's policy label, the budget in bytes, the histogram bucket and a
memory kind). Latency histograms are read from the cache's event log (``Cache.events``), whose
ring holds the newest 1,000 events: events that left it between two scrapes are counted in
``vizcache_events_missed_total`` instead.
"""

from __future__ import annotations

import math
import threading

#: histogram buckets, seconds: a HATS partition loads in ~0.05-0.5 s, a catalog in seconds, an eviction in ms
LOAD_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
EVICTION_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
COUNTERS = {"hits": "requests served from the cache", "misses": "requests that were not (loads and coalesced waits)",
            "loads": "loader calls", "evictions": "entries evicted by the policy", "rejections": "loaded values the policy did not keep",
            "expirations": "entries that expired", "load_failures": "loader calls that raised"}


def _label(value) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    return repr(float(value)) if isinstance(value, float) else str(int(value))


class Histogram:
    def __init__(self, buckets: tuple) -> None:
        self.buckets, self.counts, self.sum, self.count = buckets, [0] * len(buckets), 0.0, 0

    def observe(self, seconds: float) -> None:
        for i, bound in enumerate(self.buckets):
            if seconds <= bound:
                self.counts[i] += 1
        self.sum += seconds
        self.count += 1

    def lines(self, name: str) -> list[str]:
        return ([f'{name}_bucket{{le="{b:g}"}} {c}' for b, c in zip(self.buckets, self.counts)]
                + [f'{name}_bucket{{le="+Inf"}} {self.count}', f"{name}_sum {self.sum!r}", f"{name}_count {self.count}"])


class Metrics:
    """One cache's exposition; ``render()`` reads the cache, its event log since the last call, and its shadows."""

    def __init__(self, cache, shadows=None) -> None:
        self.cache, self.shadows = cache, shadows
        self.loads, self.evictions = Histogram(LOAD_BUCKETS), Histogram(EVICTION_BUCKETS)
        self.missed = self._seq = 0
        self._lock = threading.Lock()

    def _read_events(self) -> None:
        events = self.cache.events.since(self._seq)
        if events:
            self.missed += max(0, events[0].seq - self._seq - 1)
            self._seq = events[-1].seq
        for event in events:
            if event.kind in ("load", "reject") and event.latency is not None:
                self.loads.observe(event.latency)
            elif event.kind == "reclaim" and event.latency is not None:  # the RSS policies' evictions: drop, trim, re-read RSS
                self.evictions.observe(event.latency)

    def render(self) -> str:
        with self._lock:
            self._read_events()
            stats = self.cache.stats()
            out: list[str] = []

            def metric(name: str, kind: str, help_text: str, samples: list[str]) -> None:
                out.extend([f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples])

            for field, text in COUNTERS.items():
                metric(f"vizcache_{field}_total", "counter", text.capitalize() + ".", [f"vizcache_{field}_total {getattr(stats, field)}"])
            policy = stats.policy_stats
            limit = policy.get("limit_bytes") or policy.get("budget_bytes")
            memory = {"managed": stats.managed_bytes, "unmanaged": stats.unmanaged_bytes, "rss": stats.rss, "limit": limit}
            metric("vizcache_memory_bytes", "gauge", "Bytes the cache's entries account for (managed), the rest of RSS (unmanaged), "
                   "RSS, and the policy's limit or size budget.",
                   [f'vizcache_memory_bytes{{kind="{k}"}} {_number(v)}' for k, v in memory.items() if v is not None])
            metric("vizcache_entries", "gauge", "Entries in the cache.", [f"vizcache_entries {stats.entries}"])
            metric("vizcache_load_seconds", "histogram", "Time in the loader, per load.", self.loads.lines("vizcache_load_seconds"))
            metric("vizcache_eviction_seconds", "histogram", "Time to evict one entry and read back the RSS it gave (RSS policies).",
                   self.evictions.lines("vizcache_eviction_seconds"))
            metric("vizcache_events_missed_total", "counter", "Events that left the event log before a scrape read them.",
                   [f"vizcache_events_missed_total {self.missed}"])
            if self.shadows is not None:
                out.extend(self._shadow_lines(self.shadows.snapshot()))
            return "\n".join(out) + "\n"

    @staticmethod
    def _shadow_lines(figures: dict) -> list[str]:
        budget = _label(figures["budget"])
        rows = [(_label(label), s) for label, s in figures["shadows"].items()]
        lines = ["# HELP vizcache_shadow_hit_ratio Hit ratio a policy would have had on this process's requests at the budget.",
                 "# TYPE vizcache_shadow_hit_ratio gauge"]
        lines += [f'vizcache_shadow_hit_ratio{{policy="{p}",budget="{budget}"}} {_number(s["hit_ratio"])}' for p, s in rows]
        lines += ["# HELP vizcache_shadow_requests_total Requests a shadow was fed.", "# TYPE vizcache_shadow_requests_total counter"]
        lines += [f'vizcache_shadow_requests_total{{policy="{p}",budget="{budget}"}} {s["requests"]}' for p, s in rows]
        lines += ["# HELP vizcache_shadow_over_budget_ratio Share of requests after which the shadow held more than the budget.",
                  "# TYPE vizcache_shadow_over_budget_ratio gauge"]
        lines += [f'vizcache_shadow_over_budget_ratio{{policy="{p}",budget="{budget}"}} {_number(s["over_budget_share"])}'
                  for p, s in rows]
        lines += ["# HELP vizcache_shadow_unsized_requests_total Requests left out: their key had no known size yet.",
                  "# TYPE vizcache_shadow_unsized_requests_total counter", f"vizcache_shadow_unsized_requests_total {figures['unsized_requests']}"]
        curve = figures.get("curve")
        if curve:
            policy = _label(curve["policy"])
            lines += ["# HELP vizcache_curve_hit_ratio The curve: hit ratio the cache's policy would have at other budgets (SHARDS sample).",
                      "# TYPE vizcache_curve_hit_ratio gauge"]
            lines += [f'vizcache_curve_hit_ratio{{policy="{policy}",budget="{b}",fraction="{f:g}"}} {_number(h)}'
                      for f, b, h in zip(curve["fractions"], curve["budgets"], curve["hit_ratio"])]
            lines += ["# HELP vizcache_curve_sampling_rate The curve's SHARDS sampling rate.", "# TYPE vizcache_curve_sampling_rate gauge",
                      f"vizcache_curve_sampling_rate {curve['rate']!r}"]
        return lines
