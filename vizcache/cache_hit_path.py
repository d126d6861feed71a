"""The cache's hit path, built as a closure over what it touches.

A hit is the call a viewer makes on every switch and every pan, and it is measured against a
bare lock-guarded ``OrderedDict`` LRU (``benchmarks/bench_hit_latency.py``). Reading ``self._lock``,
``self._entries``, ``self.clock``, ... on each call costs as much as the LRU work itself, so
:meth:`Cache._rewire` builds this function with those objects bound as closure cells, again
whenever the policy (or its expiry) changes, and installs it as the instance's
``get_or_load`` (unless a subclass overrides that method: its override then reaches this path
through ``super()``). A replaced path is retired, not dropped: a reference to it someone kept
(a callback, a partial) forwards to the current one. The value is read under the lock: an
eviction racing the call drops the entry's reference only once it holds the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from .policies.expiry import Expiring


def build_get_or_load(cache) -> Callable[..., Any]:
    """``cache.get_or_load`` with the current policy's hit behaviour bound in."""
    lock, entries, clock, counters, trace = cache._lock, cache._entries, cache.clock, cache._counters, cache._trace
    get, move_to_end, miss = entries.get, entries.move_to_end, cache._miss
    is_fresh, on_hit, lru = cache._is_fresh, cache._on_hit, cache._lru
    # The built-in expiry check, inlined (a method call is a third of a hit); a plugin's own
    # is_fresh is called as it is. _rewire rebuilds this when max_age or max_idle change.
    expiring = is_fresh is not None and getattr(type(cache.policy), "is_fresh", None) is Expiring.is_fresh
    max_age = cache.policy._max_age if expiring else None
    max_idle = cache.policy._max_idle if expiring else None
    if expiring:
        is_fresh = None

    retired = False

    def get_or_load(key: Hashable, loader: Callable[[], Any], *, expected_bytes: int | None = None) -> Any:
        if retired:  # a reference kept from before the policy changed: the current path decides
            return cache._hit_path(key, loader, expected_bytes=expected_bytes)
        with lock:
            entry = get(key)
            hit = False
            if entry is not None:
                now = clock()
                if expiring:
                    fresh = ((max_age is None or now - entry.inserted <= max_age)
                             and (max_idle is None or now - entry.last_access <= max_idle))
                else:
                    fresh = is_fresh is None or is_fresh(entry, now)
                if fresh:
                    if lru:
                        move_to_end(key)
                    elif entry.freq < 3:  # s3fifo: a hit bumps a 2-bit counter
                        entry.freq += 1
                    if on_hit is not None:
                        on_hit(entry)
                    entry.hits += 1
                    entry.last_access = now
                    counters.hits += 1
                    value, hit = entry.value, True
        if not hit:
            return miss(key, loader, expected_bytes)
        if trace is not None:
            trace.record(key, True)
        return value

    def retire() -> None:
        nonlocal retired
        retired = True

    get_or_load.__doc__ = type(cache).get_or_load.__doc__
    get_or_load.retire = retire
    return get_or_load
