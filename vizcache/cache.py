"""Cache: one ``get_or_load`` path, single-flight loads, and a pluggable policy.

The hit path takes the lock, moves the key to the LRU end and bumps two counters — nothing
else unless the policy asks to check freshness or a trace is recorded. Everything that costs
(RSS probes, size estimates, evictions, garbage collection) happens on the miss path,
outside the lock, through methods that time and count it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, NamedTuple

from .events import Counters, EventLog, TraceRecorder
from .memory import RSSProbe, release_memory
from .units import format_bytes
from .policies import CachePolicy, RSSThresholdLRU

log = logging.getLogger(__name__)


class Entry:
    """One cached value and what the cache knows about it (times from the cache's clock)."""

    __slots__ = ("key", "value", "inserted", "last_access", "hits", "load_seconds", "rss_delta_bytes", "estimated_bytes")

    def __init__(self, key, value, now: float, load_seconds: float, rss_delta_bytes: int) -> None:
        self.key = key
        self.value = value
        self.inserted = now
        self.last_access = now
        self.hits = 0
        self.load_seconds = load_seconds
        self.rss_delta_bytes = rss_delta_bytes
        self.estimated_bytes: int | None = None


class Eviction(NamedTuple):
    key: Hashable
    rss_delta_bytes: int
    estimated_bytes: int | None
    reclaimed_bytes: int | None  # RSS given back, when the eviction measured it
    rss_after: int | None


class _Flight:
    """A load in progress that other callers of the same key wait on."""

    __slots__ = ("done", "value", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value = None
        self.error: BaseException | None = None

    def result(self):
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value


class Cache:
    """A thread-safe, memory-aware cache whose eviction is decided by a policy.

    >>> from vizcache import Cache, AgeBased
    >>> cache = Cache(AgeBased(max_age=60))
    >>> cache.get_or_load("pzwav", lambda: [1, 2, 3])
    [1, 2, 3]
    >>> cache.stats()["misses"], "pzwav" in cache
    (1, True)
    """

    def __init__(
        self,
        policy: CachePolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rss_probe: Callable[[], int] | None = None,
        trace: TraceRecorder | str | Path | None = None,
        event_log_size: int = 1000,
    ) -> None:
        self.policy = policy if policy is not None else RSSThresholdLRU()
        self.clock = clock
        self._probe = rss_probe if rss_probe is not None else RSSProbe()
        self.rss_method = getattr(self._probe, "method", "custom")
        self._trace = TraceRecorder(trace) if isinstance(trace, (str, Path)) else trace
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._inflight: dict[Hashable, _Flight] = {}
        self._lock = threading.Lock()
        self._counters = Counters()
        self.events = EventLog(event_log_size)
        self._warnings: deque[str] = deque(maxlen=20)
        self._warnings_total = 0
        self._last_logged_warning = float("-inf")
        self._is_fresh = self.policy.is_fresh if self.policy.checks_on_hit else None

    # -- the one path -------------------------------------------------------------------

    def get_or_load(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        """Return the cached value for ``key``, or call ``loader()`` once to produce it."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._serve_locked(entry, self.clock()):
                return entry.value
        return self._miss(key, loader)

    def _serve_locked(self, entry: Entry, now: float) -> bool:
        """Count a hit on ``entry`` if the policy still calls it fresh; False means reload it."""
        if self._is_fresh is not None and not self._is_fresh(entry, now):
            return False
        self._entries.move_to_end(entry.key)
        entry.hits += 1
        entry.last_access = now
        self._counters.hits += 1
        if self._trace is not None:
            self._trace.record(entry.key, True)
        return True

    def _miss(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                if self._serve_locked(entry, self.clock()):  # loaded by another caller meanwhile
                    return entry.value
                self._log_removal(self._remove_locked(key, "expirations"), "expired")
            self._counters.misses += 1
            flight = self._inflight.get(key)
            leader = flight is None
            if leader:
                flight = self._inflight[key] = _Flight()
            else:
                self._counters.coalesced += 1
        if not leader:
            value = flight.result()
            if self._trace is not None:
                self._trace.record(key, False)
            return value
        try:
            flight.value = self._load(key, loader)
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            flight.done.set()
        return flight.value

    def _load(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        try:
            self.policy.make_room(self, key)
            rss_before = self.rss()
            start = time.perf_counter()
            value = loader()
            load_seconds = time.perf_counter() - start
            rss_after = self.rss()
        except BaseException as exc:
            with self._lock:
                self._inflight.pop(key, None)
                self._counters.loads += 1
                self._counters.load_failures += 1
                self.events.add("load_error", key, detail=f"{type(exc).__name__}: {exc}")
            raise
        # Measured around the load: memory is allocated while loading, not while inserting.
        entry = Entry(key, value, self.clock(), load_seconds, max(0, rss_after - rss_before))
        try:
            admitted = self.policy.admit(self, entry, rss_after)
        except BaseException:
            with self._lock:
                self._inflight.pop(key, None)
                self._counters.loads += 1
                self._counters.load_failures += 1
            raise
        with self._lock:
            self._inflight.pop(key, None)
            c = self._counters
            c.loads += 1
            c.bytes_loaded += entry.rss_delta_bytes
            c.load_seconds += load_seconds
            if admitted:
                self._entries[key] = entry
                c.admits += 1
                self.events.add("load", key, rss_after, entry.rss_delta_bytes, load_seconds)
            else:
                c.rejections += 1
                self.events.add("reject", key, rss_after, entry.rss_delta_bytes, load_seconds,
                                detail="not kept: the policy rejected it")
        if self._trace is not None:
            self._trace.record(key, False, load_seconds, entry.rss_delta_bytes)
        if admitted:
            self.policy.after_admit(self, entry, rss_after)
        return value

    # -- what policies call -------------------------------------------------------------

    def rss(self) -> int:
        """Process RSS in bytes; timed and counted as policy overhead."""
        start = time.perf_counter()
        rss = self._probe()
        elapsed = time.perf_counter() - start
        with self._lock:
            self._counters.probe_calls += 1
            self._counters.probe_seconds += elapsed
        return rss

    def rss_unmetered(self) -> int:
        """Process RSS for observers (stats, monitors): not counted as policy overhead."""
        return self._probe()

    def estimate(self, value: Any, estimator: Callable[[Any], int]) -> int:
        """Size ``value`` with ``estimator``; timed and counted as policy overhead."""
        start = time.perf_counter()
        nbytes = int(estimator(value))
        elapsed = time.perf_counter() - start
        with self._lock:
            self._counters.sizing_calls += 1
            self._counters.sizing_seconds += elapsed
        return nbytes

    def entry_objects(self) -> list[Entry]:
        """A snapshot of the live entries, least recently used first."""
        with self._lock:
            return list(self._entries.values())

    def lru_victim(self, exclude: Hashable | None = None) -> Hashable | None:
        """The least recently used key other than ``exclude``, or None when there is none."""
        with self._lock:
            for key in self._entries:
                if key != exclude:
                    return key
        return None

    def evict(self, key: Hashable, reason: str = "evict", reclaim: bool = False) -> Eviction | None:
        """Remove ``key``. With ``reclaim``, collect garbage, trim the heap and measure what RSS came back."""
        rss_before = self.rss() if reclaim else None
        with self._lock:
            entry = self._remove_locked(key, "expirations" if reason == "expired" else "evictions")
            if entry is not None and not reclaim:
                self._log_removal(entry, reason)
        if entry is None:
            return None
        entry.value = None  # drop our reference now, not when the Entry object goes
        reclaimed = rss_after = None
        if reclaim:
            start = time.perf_counter()
            release_memory()
            elapsed = time.perf_counter() - start
            rss_after = self.rss()
            reclaimed = rss_before - rss_after  # may be negative: other threads allocate too
            with self._lock:
                self._counters.reclaim_seconds += elapsed
                self._counters.bytes_reclaimed += max(0, reclaimed)
                self._log_removal(entry, reason, rss_after, reclaimed, elapsed)
        return Eviction(key, entry.rss_delta_bytes, entry.estimated_bytes, reclaimed, rss_after)

    def _remove_locked(self, key: Hashable, counter: str | None) -> Entry | None:
        entry = self._entries.pop(key, None)
        if entry is not None and counter is not None:
            setattr(self._counters, counter, getattr(self._counters, counter) + 1)
        return entry

    def _log_removal(self, entry: Entry, reason: str, rss=None, reclaimed=None, seconds=None) -> None:
        kind = "expire" if reason == "expired" else "evict"
        nbytes = entry.rss_delta_bytes if reclaimed is None else reclaimed
        detail = reason if reclaimed is None else f"{reason}; RSS given back: {format_bytes(reclaimed)}"
        self.events.add(kind, entry.key, rss, nbytes, seconds, detail=detail)

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

    # -- inspection and maintenance -----------------------------------------------------

    def sweep(self) -> int:
        """Ask the policy to drop stale entries now; returns how many went."""
        return self.policy.sweep(self)

    def invalidate(self, key: Hashable) -> bool:
        """Forget ``key``; True when it was cached."""
        with self._lock:
            entry = self._remove_locked(key, None)
            if entry is not None:
                self._log_removal(entry, "invalidated")
        if entry is not None:
            entry.value = None
        return entry is not None

    def clear(self) -> None:
        """Forget every entry (counters are kept)."""
        with self._lock:
            for key in list(self._entries):
                self._log_removal(self._remove_locked(key, None), "cleared")

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

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
                "estimated_bytes": e.estimated_bytes,
            }
            for e in snapshot
        ]

    def counters(self) -> dict:
        """The raw counters only: cheap, and without the policy's own (possibly costly) figures."""
        with self._lock:
            return self._counters.as_dict()

    def stats(self) -> dict:
        """Counters, ratios, memory and overhead figures, merged with the policy's own."""
        policy_stats = self.policy.policy_stats(self)  # may size entries, as the old code did
        rss = self.rss_unmetered()
        with self._lock:
            counters = self._counters.as_dict()
            n = len(self._entries)
            measured = sum(e.rss_delta_bytes for e in self._entries.values())
            warnings = list(self._warnings)
            warnings_total = self._warnings_total
        requests = counters["hits"] + counters["misses"]
        return {
            "policy": type(self.policy).__name__,
            "params": self.policy.settings(),
            **counters,
            "requests": requests,
            "hit_ratio": counters["hits"] / requests if requests else 0.0,
            "entries": n,
            "rss_delta_bytes": measured,
            "rss": rss,
            "rss_method": self.rss_method,
            "overhead_seconds": counters["probe_seconds"] + counters["sizing_seconds"] + counters["reclaim_seconds"],
            "warnings_total": warnings_total,
            "warnings": warnings,
            **policy_stats,
        }

    def flush_trace(self) -> None:
        """Write buffered trace rows to disk now."""
        if self._trace is not None:
            self._trace.flush()

    def close(self) -> None:
        """Flush and close the trace, if one is recorded."""
        if self._trace is not None:
            self._trace.close()
