"""What a policy may ask of the cache (the contract in :mod:`vizcache.policies.contract`) besides
evicting: RSS and size estimates, timed as overhead; what a key is expected to weigh; and the
loads running now, so a memory bound can leave them room or pause a load until one ends.

A mixin of :class:`vizcache.cache.Cache`; it uses the cache's lock, entries and counters.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from .cache_entry import Entry, LoadsInProgress
from .memory import trim_heap

# Remembered sizes of keys loaded before, so a policy can plan room for a reload.
_SIZE_MEMORY = 4096
# Remembered sizes averaged into a guess of what a load of a key never seen holds.
_TYPICAL_OF = 16


class CachePolicyCalls:
    """Probes, sizes and room: the calls policies make, each timed where it costs."""

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
        """A snapshot of the live entries, in eviction order (least recently used first for LRU)."""
        with self._lock:
            return list(self._order.in_order())

    def expected_bytes(self, key: Hashable) -> int | None:
        """What ``key`` is expected to hold once loaded, or None if never seen: while it loads, what
        the load plans for (see ``get_or_load``'s ``expected_bytes``); else the size its loader
        reported, else the RSS its last eviction gave back, else the RSS delta of its last load
        that no other load overlapped (which also counts the load's transient memory)."""
        with self._lock:
            flight = self._inflight.get(key)
            if flight is not None and flight.expected is not None:
                return flight.expected  # what its load plans for: the larger of the known size and the caller's
            return self._known_bytes_locked(key)

    def _known_bytes_locked(self, key: Hashable) -> int | None:
        reclaimed = self._reclaimed.get(key)
        return reclaimed if reclaimed is not None else self._sizes.get(key)

    def typical_bytes(self) -> int | None:
        """The mean size of the last few keys whose sizes are known, or None before any: the
        room to hold for a load of a key never seen, while other loads wait for room."""
        with self._lock:
            return self._typical_locked()

    def _typical_locked(self) -> int | None:
        recent = list(itertools.islice(reversed(self._sizes.values()), _TYPICAL_OF))
        return sum(recent) // len(recent) if recent else None

    def _planned_bytes_locked(self, key: Hashable, hint: int | None) -> int | None:
        if hint is not None and (isinstance(hint, bool) or not isinstance(hint, int) or hint < 0):
            raise ValueError(f"expected_bytes for {key!r} must be a whole number of bytes ≥ 0, not {hint!r}")
        known = self._known_bytes_locked(key)
        # The caller's figure may be the load's peak, above what the key keeps: plan for the larger.
        return known if hint is None else hint if known is None else max(known, hint)

    def loads_in_progress(self, exclude: Hashable | None = None) -> LoadsInProgress:
        """Other loads whose loaders run now (not waiting on another load, nor paused for room),
        and the bytes they are expected to add: room a policy must leave them."""
        with self._lock:
            return self._running_loads_locked(threading.get_ident(), exclude)

    def _running_loads_locked(self, me: int, exclude: Hashable | None = None) -> LoadsInProgress:
        blocked = self._pausing.union(self._waiting)
        count = pending = 0
        rss = None
        for key, flight in self._inflight.items():
            if flight.loading and key != exclude and flight.owner != me and flight.owner not in blocked:
                count += 1
                expected = flight.expected if flight.expected is not None else flight.guess or 0
                if expected:
                    # What RSS grew since it began is (mostly) already its own: only the rest is to come.
                    rss = self._probe() if rss is None else rss
                    expected = max(0, expected - max(0, rss - flight.rss_at_start))
                pending += expected
        return LoadsInProgress(count, pending)

    def wait_for_a_load(self, timeout: float) -> bool:
        """Pause this thread's load until another load ends (dask's worker "pause"): False at
        once when no other load is running, so two paused loads never wait on each other."""
        me = threading.get_ident()
        if self._evicting_here():
            return False  # a listener's load inside an eviction batch: others may wait for the batch
        with self._room:
            with self._lock:
                self._pausing.add(me)
                running = self._running_loads_locked(me).count
                nested = any(f.owner == me and f.loading for f in self._inflight.values())
            try:
                if nested:  # this thread's outer load no longer runs: loads paused on it re-check
                    self._room.notify_all()
                self._wake_if_pending()
                return bool(running) and self._room.wait(timeout)
            finally:
                with self._lock:
                    self._pausing.discard(me)

    def _room_changed(self) -> None:
        """Wake loads paused for room (never called holding the cache's lock: room is taken first).
        Inside an eviction batch ``_room`` is not waited for (see cache_locks): if another thread
        holds it, that thread wakes them as it lets go."""
        if not self._room.acquire(blocking=not self._evicting_here()):
            self._wake_pending = True
            return
        try:
            self._room.notify_all()
        finally:
            self._room.release()

    def _wake_if_pending(self) -> None:
        """Under ``_room``: pass on a wake-up a thread inside an eviction batch could not deliver."""
        if self._wake_pending:
            self._wake_pending = False
            self._room.notify_all()

    @staticmethod
    def _remember_size_locked(sizes: OrderedDict, key: Hashable, nbytes: int) -> None:
        sizes[key] = nbytes
        sizes.move_to_end(key)
        if len(sizes) > _SIZE_MEMORY:
            sizes.popitem(last=False)

    def managed_bytes(self) -> int:
        """The sum of the entries' best-known sizes: the memory the cache can account for."""
        return self._managed

    def _attributed_bytes_locked(self, entry: Entry, rss_after: int) -> int:
        """A size for a load that others overlapped: its RSS delta holds their memory too.

        A size known beforehand (remembered, or the ``expected_bytes`` it was planned with)
        wins, else its RSS delta less the sizes given to loads that ended while it ran (a load
        nested in its loader, say); and no entry is given more than RSS holds beyond what the cache already accounts
        for, so the entries' sizes never add up to more than the process's RSS.
        """
        known = self._known_bytes_locked(entry.key)
        if known is None:
            known = entry.planned_bytes
        # Otherwise: what RSS grew by, less what the loads that landed meanwhile were given.
        size = known if known is not None else max(0, entry.rss_delta_bytes - entry.landed_during)
        return max(0, min(size, rss_after - self._managed))

    def _trim_metered(self) -> None:
        # Memory freed since the last trim (a load's read buffers and conversions: 4-5x a Parquet
        # catalog's size in pandas) sits in the allocator's arenas and still counts in RSS. Give it
        # back before deciding anything from RSS. It costs about as much as there is to return.
        start = time.perf_counter()
        trim_heap()
        elapsed = time.perf_counter() - start
        with self._lock:
            self._counters.reclaim_seconds += elapsed
