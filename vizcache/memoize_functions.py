"""What ``vizcache.cached`` keeps per decorated function, and the caches functions share.

* **One cache per process.** Functions decorated with only a memory bound (the default
  ``limit="auto"``, another ``limit``, ``limit=None`` or a ``budget``) share one
  :class:`~vizcache.Cache` per bound: every ``@vizcache.cached`` function of a Panel server
  competes for one budget, least recently used first across all of them. A function gets a
  cache of its own when it asks for a bound of its own (``max_items``, ``ttl``, a policy object
  or a TOML config: ``pn.cache``'s ``max_items`` counts one function's entries) or is given one
  (``cache=``).
* **Per-function figures.** Each function (file, name, options) has a :class:`FunctionRecord`:
  its calls, hits, misses, disk hits, and an index of the keys it stored, so its entries, bytes,
  ``clear()`` and the forgetting of an instance or a session touch its own keys, never every key
  of a shared cache. :func:`cached_functions_stats` lists them for the whole process.

The index is pruned lazily: a key the cache evicted stays in it until the next look (or until
the index doubles), and a look checks only the function's own keys.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import threading
from collections.abc import Callable, Hashable
from typing import Any

from .cache import Cache

_REGISTRY_LOCK = threading.RLock()  # a record is made under it, and may make the shared cache
_RECORDS: dict[tuple, FunctionRecord] = {}
_SHARED_CACHES: dict[tuple, Cache] = {}  # policy spec -> the process's cache for that memory bound
_DISKS: dict[Hashable, Any] = {}  # a function's tag -> its disk tier, for the shared caches' removals


class FunctionRecord:
    """One decorated function: its cache (maybe shared), its disk tier, its counts and its keys."""

    def __init__(self, name: str, tag: Hashable, cache: Cache, disk, shared: bool) -> None:
        self.name = name
        self.tag = tag  # key[0] of every key this function stores
        self.cache = cache
        self.disk = disk
        self.shared = shared
        self.counts = {"misses": 0, "disk_hits": 0}  # calls that ran the function, that read the disk
        self._calls = itertools.count()
        #: Count one call that returned (a hit unless it ran the function or read the disk): next()
        #: of an itertools.count is atomic under the GIL, so a hit takes no lock for its count.
        self.call_done = self._calls.__next__
        self._reads = 0  # values of _calls taken by snapshot(), not by calls
        self.lock = threading.Lock()
        self.sessions: set[int] = set()
        self.flights: dict[tuple, asyncio.Future] = {}  # (event loop, key) -> the running await
        self._keys: dict[Hashable, int] = {}  # key -> stamp of its last store, so a prune never drops a newer one
        self._stamps = itertools.count()
        self._loading: dict[Hashable, int] = {}  # key -> loads of it running now
        self._prune_at = 64

    def count(self, outcome: str) -> None:
        with self.lock:
            self.counts[outcome] += 1

    def snapshot(self) -> dict:
        """``calls`` (that returned), ``hits`` (served from memory), ``misses``, ``disk_hits``."""
        with self.lock:
            calls = next(self._calls) - self._reads
            self._reads += 1
            counts = dict(self.counts)
        return {"calls": calls, "hits": max(0, calls - counts["misses"] - counts["disk_hits"]), **counts}

    def loading(self, key: Hashable) -> None:
        """``key`` is being loaded for this function: indexed from now, so a ``clear()`` meanwhile
        catches the load in flight; a prune leaves it alone until :meth:`loaded`."""
        with self.lock:
            self._keys[key] = next(self._stamps)
            self._loading[key] = self._loading.get(key, 0) + 1
            prune = len(self._keys) > self._prune_at
        if prune:
            self.live()

    def loaded(self, key: Hashable) -> None:
        """The load of ``key`` ended (kept by the cache or not)."""
        with self.lock:
            left = self._loading.pop(key, 1) - 1
            if left:
                self._loading[key] = left

    def live(self) -> dict[Hashable, int]:
        """This function's live entries, ``{key: bytes}``; forgets the keys the cache no longer holds."""
        with self.lock:
            snapshot = dict(self._keys)
        sizes = self.cache.live_sizes(snapshot)
        with self.lock:
            for key, stamp in snapshot.items():
                if key not in sizes and key not in self._loading and self._keys.get(key) == stamp:
                    del self._keys[key]
            self._prune_at = max(64, 2 * len(self._keys))
        return sizes

    def forget(self, keep: Callable[[Hashable], bool] = lambda key: False) -> None:
        """Invalidate this function's keys that ``keep`` does not keep (all, by default)."""
        with self.lock:
            keys = [k for k in self._keys if not keep(k)]
        for key in keys:
            self.cache.invalidate(key)
        with self.lock:
            for key in keys:
                self._keys.pop(key, None)

    def stats(self) -> dict:
        sizes = self.live()
        return {"function": describe(self.name), **self.snapshot(), "entries": len(sizes), "bytes": sum(sizes.values()),
                "policy": type(self.cache.policy).__name__, "shared_cache": self.shared}


def describe(name: str) -> str:
    """``qualname (file.py:line)`` from a function's identifying name (file:qualname:line:position);
    a nested function's enclosing ``f.<locals>.`` is left out (the line says where it is)."""
    parts = name.split(":")
    if len(parts) >= 4:
        file, qualname, line = ":".join(parts[:-3]), parts[-3].rpartition("<locals>.")[2], parts[-2]
        return f"{qualname} ({os.path.basename(file)}:{line})"
    return name


def record_for(spec: tuple, make: Callable[[], FunctionRecord]) -> FunctionRecord:
    """The record for ``spec``, made once: ``panel serve`` runs an app script again for each session."""
    with _REGISTRY_LOCK:
        record = _RECORDS.get(spec)
        if record is None:
            record = _RECORDS[spec] = make()
            record.cache.describe_functions = functools.partial(cached_functions_stats, record.cache)
            if record.disk is not None and record.shared:
                _DISKS[record.tag] = record.disk
        return record


def shared_cache(policy_spec: tuple, make_policy: Callable[[], Any]) -> Cache:
    """The process's one cache for this memory bound (call under no lock of a record)."""
    with _REGISTRY_LOCK:
        cache = _SHARED_CACHES.get(policy_spec)
        if cache is None:
            cache = _SHARED_CACHES[policy_spec] = Cache(make_policy(), on_removal=_forget_on_shared_disk)
        return cache


def own_cache(policy, disk) -> Cache:
    """A cache for one function's own bound; its disk tier, if any, forgets what it removes."""
    return Cache(policy, on_removal=None if disk is None else functools.partial(_forget_on_disk, disk))


def _forget_on_disk(disk, key, value, cause: str) -> None:
    # Left memory for memory's sake ("evicted"): kept on disk. Expired or invalidated: gone there too.
    if cause in ("expired", "invalidated"):
        disk.delete([key])


def _forget_on_shared_disk(key, value, cause: str) -> None:
    """A shared cache's removals, passed to the disk tier of the function the key belongs to."""
    disk = _DISKS.get(key[0]) if isinstance(key, tuple) and key else None
    if disk is not None:
        _forget_on_disk(disk, key, value, cause)


def cached_functions_stats(cache: Cache | None = None) -> list[dict]:
    """Every ``@vizcache.cached`` function of this process (of ``cache`` only, if given): its
    ``calls``, ``hits``, ``misses``, ``disk_hits``, live ``entries`` and their ``bytes``, its cache's
    ``policy`` and whether that cache is the process's ``shared_cache``; most bytes first.

    >>> import vizcache
    >>> vizcache.cached_functions_stats()  # doctest: +SKIP
    [{'function': 'load (app.py:12)', 'calls': 40, 'hits': 37, 'misses': 3, ...}]
    """
    with _REGISTRY_LOCK:
        records = [r for r in _RECORDS.values() if cache is None or r.cache is cache]
    return sorted((r.stats() for r in records), key=lambda s: (-s["bytes"], s["function"]))
