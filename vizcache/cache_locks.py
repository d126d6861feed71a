"""The cache's locks, in the order a thread may take them, and what a forked child starts with.

* ``_room`` (re-entrant, a condition): held while a load's room is decided and reserved, so
  two loads never count on the same free memory; notified when a load ends or blocks.
* ``_evict_lock`` (re-entrant): one eviction batch at a time.
* ``_lock``: the entries, flights and counters; never held while calling out.

A thread may take them in that order only. The one way round it is a removal listener that
loads (the README allows a listener to use the cache): it runs inside an eviction batch, so
its load neither waits for ``_room`` nor pauses for room — a thread waiting for ``_room``
may be the one waiting for this batch to end.

A mixin of :class:`vizcache.cache.Cache`.
"""

from __future__ import annotations

import os
import threading
import weakref
from contextlib import contextmanager, nullcontext

# Every cache alive, so a forked child can give each new locks (see _reset_after_fork).
_CACHES: weakref.WeakSet = weakref.WeakSet()


class CacheLocks:
    """Creates the locks, tracks which threads are inside an eviction batch, survives a fork."""

    def _make_locks(self) -> None:
        self._lock = threading.Lock()
        self._room = threading.Condition(threading.RLock())
        self._evict_lock = threading.RLock()
        self._evictors: dict[int, int] = {}  # thread ident -> eviction batches it is inside
        self._wake_pending = False  # paused loads to wake when _room is next let go
        _CACHES.add(self)

    @contextmanager
    def _eviction_batch(self):
        with self._evict_lock:
            me = threading.get_ident()
            self._evictors[me] = self._evictors.get(me, 0) + 1
            try:
                yield
            finally:
                if self._evictors[me] == 1:
                    del self._evictors[me]
                else:
                    self._evictors[me] -= 1

    def _evicting_here(self) -> bool:
        """This thread is inside an eviction batch (a removal listener that loads, say)."""
        return threading.get_ident() in self._evictors

    def _room_to_decide(self):
        """``_room`` to decide a load's room in, or nothing inside an eviction batch (see above)."""
        return nullcontext() if self._evicting_here() else self._room

    def _reset_after_fork(self) -> None:
        """In a forked child only the forking thread exists: a lock another thread held stays held
        for ever, and a load another thread led never ends. New locks; such loads fail."""
        orphans = [f for f in self._inflight.values() if f.owner != threading.get_ident()]
        self._make_locks()
        for flight in orphans:
            flight.fail(RuntimeError("this load was running in another thread when the process forked"))
            flight.done = threading.Event()
            flight.done.set()
        self._inflight = {k: f for k, f in self._inflight.items() if f not in orphans}
        self._waiting, self._pausing, self._loads_active = {}, set(), 0
        self._rewire()  # the hit path holds the old lock


def _after_fork_in_child() -> None:
    for cache in list(_CACHES):
        cache._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
