"""What observers read of a cache (the monitor, stats, the trace) and its warnings.

A mixin of :class:`vizcache.cache.Cache`; it uses the cache's lock, entries and counters.
"""

from __future__ import annotations

import logging
import time

from .cache_stats import CacheStats

log = logging.getLogger("vizcache.cache")


class CacheInspection:
    """Snapshots for observers: entries, counters, typed stats; warnings and the trace's flush."""

    def entries(self) -> list[dict]:
        """The entries, least recently used first, with ages in seconds and sizes in bytes."""
        now, wall = self.clock(), time.time()
        with self._lock:
            snapshot = list(self._entries.values())
        return [
            {
                "key": e.key,
                "inserted": wall - (now - e.inserted),
                "last_access": wall - (now - e.last_access),
                "age_s": now - e.inserted,
                "idle_s": now - e.last_access,
                "hits": e.hits,
                "load_seconds": e.load_seconds,
                "rss_delta_bytes": e.rss_delta_bytes,
                "reported_bytes": e.reported_bytes,
                "size_bytes": e.size_bytes,
                "overlapped": e.overlapped,
                "estimated_bytes": e.estimated_bytes,
            }
            for e in snapshot
        ]

    def counters(self) -> dict:
        """The raw counters only: cheap, and without the policy's own (possibly costly) figures."""
        with self._lock:
            return self._counters.as_dict()

    def stats(self) -> CacheStats:
        """A typed snapshot: counters, ratios, memory and overhead, and the policy's own figures
        (computed by the policy: the old size-estimating one re-sizes every entry here)."""
        policy_stats = dict(self._policy.policy_stats(self))
        rss = self.rss_unmetered()
        with self._lock:
            counters = self._counters.as_dict()
            n = len(self._entries)
            managed = self._managed
            warnings = list(self._warnings)
            warnings_total = self._warnings_total
        requests = counters["hits"] + counters["misses"]
        trace = self._trace
        return CacheStats(
            **counters,
            policy=type(self._policy).__name__,
            params=self._policy.settings(),
            requests=requests,
            hit_ratio=counters["hits"] / requests if requests else 0.0,
            entries=n,
            managed_bytes=managed,
            unmanaged_bytes=max(0, rss - managed),
            rss=rss,
            rss_method=self.rss_method,
            overhead_seconds=counters["probe_seconds"] + counters["sizing_seconds"] + counters["reclaim_seconds"],
            warnings_total=warnings_total,
            warnings=warnings,
            trace_rows_lost=trace.lost if trace is not None else 0,
            policy_stats=policy_stats,
            functions=self.describe_functions() if self.describe_functions is not None else [],
        )

    def flush_trace(self) -> None:
        """Write buffered trace rows to disk now."""
        if self._trace is not None:
            self._trace.flush()

    def close(self) -> None:
        """Flush and close the trace, if one is recorded."""
        if self._trace is not None:
            self._trace.close()

    def warn(self, message: str) -> None:
        """Record a warning in stats and the event log; log it at most every 30 s so it cannot flood."""
        with self._lock:
            self._warnings.append(message)
            self._warnings_total += 1
            self.events.add("warning", "", detail=message)
            now = time.monotonic()
            should_log = now - self._last_logged_warning >= 30
            if should_log:
                self._last_logged_warning = now
        if should_log:
            log.warning("vizcache: %s", message)
