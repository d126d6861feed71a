"""How the cache evicts: exactly the entries asked for, or in eviction order until a target
holds — for an RSS target, measuring what each eviction gave back and reclaiming only when
freed memory does not show up.

A mixin of :class:`vizcache.cache.Cache`; it uses the cache's lock, entries and counters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from .cache_entry import Entry
from .memory import release_memory, trim_heap
from .policies.contract import Eviction
from .units import format_bytes

log = logging.getLogger("vizcache.cache")

# Longest eviction reason accepted (it goes to the event log, the monitor and the trace).
_MAX_REASON = 200
# Removal reasons the cache gives itself; an eviction using one would be miscounted.
_NOT_EVICTIONS = frozenset({"invalidated", "cleared", "popped", "replaced"})
# An eviction that gives back less than this share of the entry's size "did not show up in RSS".
_RECLAIM_SHORTFALL = 0.5
# Evictions in a row that give back nothing before the helper stops: the memory is not ours.
_STALLS_BEFORE_STOP = 2

# What a removal listener is told, by the reason the cache removed an entry.
_CAUSES = {"expired": "expired", "invalidated": "invalidated", "cleared": "invalidated", "popped": "invalidated",
           "replaced": "replaced"}


def _check_reason(reason: str) -> None:
    """An eviction's reason is one short line for the event log and the monitor; the reasons the
    cache itself uses for removals that are not evictions are refused, so counts stay honest."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > _MAX_REASON or "\n" in reason:
        raise ValueError(f"an eviction reason must be one line of 1 to {_MAX_REASON} characters, not {reason!r}")
    if reason in _NOT_EVICTIONS:
        raise ValueError(f"eviction reason {reason!r} is the cache's own for a removal that is not an eviction; "
                         f"use another word ({', '.join(sorted(_NOT_EVICTIONS))} are taken)")



class CacheEviction:
    """The eviction half of the policy contract (``evict_entries``, ``evict_until``, ``collect_garbage``),
    and the one place an entry leaves the cache (``_remove_locked``) and its listener is told."""

    def collect_garbage(self) -> None:
        """A full ``gc.collect()`` and heap trim, timed and counted as reclaim overhead."""
        start = time.perf_counter()
        release_memory()
        elapsed = time.perf_counter() - start
        with self._lock:
            self._counters.reclaim_seconds += elapsed

    def evict_entries(self, entries: Iterable[Entry], reason: str) -> list[Eviction]:
        """Evict exactly these entries; any already gone, or replaced by a reload, is skipped."""
        _check_reason(reason)
        with self._eviction_batch():
            evictions = []
            start = time.perf_counter()
            for entry in entries:
                with self._lock:
                    removed = self._remove_locked(entry, reason)
                if removed:
                    entry.value = None  # drop our reference now, not when the Entry object goes
                    evictions.append(Eviction(entry.key, entry.size_bytes, entry.estimated_bytes, None, None))
            self._dispatch_removals()  # the listener may hold the last reference
            released = time.perf_counter() - start
            with self._lock:
                self._counters.release_seconds += released
        return evictions

    def evict_until(
        self,
        done: Callable[[], bool] | None = None,
        *,
        rss_target: int | None = None,
        reason: str,
        exclude: Hashable | None = None,
    ) -> list[Eviction]:
        """The one eviction loop: least recently used first, skipping ``exclude``.

        Stops when ``done()`` is true, or — given ``rss_target`` — when RSS is at or below it.
        In RSS mode each eviction drops the value and re-reads RSS; only when what it freed does
        not show up does it trim the heap, and only when even that does not show it run a full
        collection, at most once per batch and throttled. When evictions stop giving memory
        back, it stops and keeps the rest: the memory above target is not the cache's, and
        flushing hot entries would not help.
        """
        if (done is None) == (rss_target is None):
            raise TypeError("evict_until takes exactly one of done= and rss_target=")
        _check_reason(reason)
        with self._eviction_batch():
            if done is not None:
                return self._evict_while(lambda: not done(), reason, exclude)
            return self._evict_to_rss(rss_target, reason, exclude)

    def _next_victim(self, exclude: Hashable | None) -> Entry | None:
        with self._lock:
            return self._order.victim(exclude)

    def _evict_while(self, over: Callable[[], bool], reason: str, exclude) -> list[Eviction]:
        evictions = []
        while over():
            victim = self._next_victim(exclude)
            if victim is None:
                break
            evictions += self.evict_entries([victim], reason)
        return evictions

    def _evict_to_rss(self, target: int, reason: str, exclude) -> list[Eviction]:
        evictions: list[Eviction] = []
        self._trim_metered()  # what is merely freed goes first: it may be all that is needed
        rss = self.rss()
        collected, stalls = False, 0
        while rss > target:
            if rss - self._managed > target:
                # Even an empty cache would stay above target: flushing the hot entries cannot help.
                self._warn_unmanaged(rss, target, "more than that is not the cache's memory")
                break
            victim = self._next_victim(exclude)
            if victim is None:
                self._warn_unmanaged(rss, target, "nothing is left to evict")
                break
            expected = self.expected_bytes(victim.key) or victim.size_bytes
            released = self._counters.release_seconds  # only evict_entries adds to it, under the lock we hold
            if not self.evict_entries([victim], reason):
                continue  # another thread took it first
            released = self._counters.release_seconds - released
            start = time.perf_counter()  # dropping the value is release time, not reclaim overhead
            rss_after = self.rss()
            if rss - rss_after < _RECLAIM_SHORTFALL * expected:
                # Large buffers (arrays, Arrow columns) are unmapped as they go; small objects
                # free into the allocator's arenas, and only a trim hands those back.
                trim_heap()
                rss_after = self.rss()
            if not collected and rss - rss_after < _RECLAIM_SHORTFALL * expected:
                # Freed memory did not show up: the value may sit in a reference cycle.
                collected = self._gc.collect()
                if collected:
                    trim_heap()
                    rss_after = self.rss()
            elapsed = time.perf_counter() - start
            reclaimed = rss - rss_after  # may be negative: other threads allocate too
            stalls = stalls + 1 if expected >= 2**20 and reclaimed < expected / 4 else 0
            with self._lock:
                self._counters.reclaim_seconds += elapsed
                self._counters.bytes_reclaimed += max(0, reclaimed)
                if victim.reported_bytes is None and reclaimed >= 0 and self._loads_active == 0:
                    # What RSS gave back is what the value held once its load's transient memory
                    # (read buffers, conversions) was gone: a better guess for its next load.
                    self._remember_size_locked(self._reclaimed, victim.key, reclaimed)
            self.events.add("reclaim", victim.key, rss_after, reclaimed, released + elapsed,
                            detail=f"RSS given back after evicting: {format_bytes(reclaimed)}"
                                   + ("; with a full collection" if collected else ""))
            evictions.append(Eviction(victim.key, expected, victim.estimated_bytes, reclaimed, rss_after))
            rss = rss_after
            if rss > target and stalls >= _STALLS_BEFORE_STOP:
                self._warn_unmanaged(rss, target, f"the last {stalls} evictions gave back almost nothing")
                break
        else:
            self._unmanaged_warned = False
        return evictions

    def _warn_unmanaged(self, rss: int, target: int, why: str) -> None:
        if self._unmanaged_warned:
            return
        self._unmanaged_warned = True
        managed = self.managed_bytes()
        self.warn(f"RSS {format_bytes(rss)} stays above the target {format_bytes(target)}: {why}. "
                  f"The cache accounts for {format_bytes(managed)}; the other {format_bytes(max(0, rss - managed))} "
                  f"is not the cache's (sessions, libraries, a leak), so the {len(self)} remaining entries are kept")

    def _call_policy_locked(self, hook: Callable, *args) -> None:
        try:
            hook(*args)
        except Exception as exc:  # a plugin's bookkeeping bug must not break the cache's
            log.warning("vizcache: policy hook %s failed: %s: %s", getattr(hook, "__name__", hook),
                        type(exc).__name__, exc)

    def _notify_locked(self, key: Hashable, value: Any, cause: str) -> None:
        if self._on_removal is not None:
            self._removals.append((key, value, cause))

    def _dispatch_removals(self) -> None:
        """Tell the removal listener, outside the lock; its errors are logged, never raised."""
        if self._on_removal is None or not self._removals:
            return
        with self._lock:
            removals, self._removals = self._removals, []
        for key, value, cause in removals:
            try:
                self._on_removal(key, value, cause)
            except Exception:
                log.exception("vizcache: the removal listener failed for %r (%s)", key, cause)

    def _remove_locked(self, entry: Entry, reason: str) -> bool:
        """Remove ``entry`` if it is still the live one for its key; count and log why."""
        if self._entries.get(entry.key) is not entry:
            return False
        del self._entries[entry.key]
        self._managed -= entry.size_bytes
        self._order.removed(entry)
        cause = _CAUSES.get(reason, "evicted")
        if self._on_remove is not None:
            self._call_policy_locked(self._on_remove, entry, cause)
        self._notify_locked(entry.key, entry.value, cause)
        if reason == "expired":
            self._counters.expirations += 1
        elif reason not in ("invalidated", "cleared", "popped", "replaced"):
            self._counters.evictions += 1
        kind = "expire" if reason == "expired" else "evict"
        self.events.add(kind, entry.key, None, entry.size_bytes, None, detail=reason)
        return True
