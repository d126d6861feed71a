"""``collections.abc.MutableMapping`` on a :class:`vizcache.cache.Cache`, as cachetools' caches have it.

So ``cachetools.cached(cache=vizcache.Cache(...), lock=...)`` works, and code written against a
cachetools cache (``cache[key]``, ``cache[key] = value``, ``del``, ``update``, ``popitem``,
``setdefault``, ``currsize``, ``maxsize``) runs on a memory-aware one. Every call goes through
the cache's own calls — ``get`` (a hit), ``put`` (through the policy), ``pop`` — so nothing here
is a second request path; ``popitem`` takes the policy order's next victim under the cache's lock.
Two per-key calls that ``vizcache.cached`` needs live here too: ``live_sizes`` (a function's
entries and bytes without a scan of the whole cache) and ``backdate`` (a result read back from
disk keeps the age it had there).

Where a memory bound cannot mean what cachetools' ``maxsize`` means:

* ``maxsize`` is the policy's bound in its own unit: the RSS ``limit`` of the whole process or
  a byte ``budget`` (bytes), else a count (``max_items``, ``max_entries``), else ``math.inf``.
  ``currsize`` is the cache's managed bytes for a byte bound, the entry count for a count.
* Under an RSS limit, ``currsize <= maxsize`` is not the invariant: RSS, which counts the whole
  process, stays under ``limit``, so the cache may evict while ``currsize`` is far below it.
* ``cache[key] = value`` raises ``ValueError`` when the policy refuses the value, as cachetools
  does for a value larger than ``maxsize``; the value's size is ``getsizeof(value)``, None by
  default (the policy measures or estimates it), so override ``getsizeof`` to report sizes.
* A cache compares by identity and is hashable (a live object with locks, not a dict of values);
  it is not pickled or copied. ``values()`` and ``items()`` are snapshots that count no hits.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, MutableMapping
from typing import Any

_MISSING = object()


class CacheMapping(MutableMapping):
    """The mapping calls of :class:`~vizcache.cache.Cache` (a mixin: it uses the cache's lock and entries)."""

    # A Mapping compares by content and so is unhashable; a cache is a live object, used as a
    # key and in weak sets, and comparing two would count hits on both.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def getsizeof(self, value: Any) -> int | None:
        """The size ``cache[key] = value`` reports for ``value``: None, the policy measures it.
        Override it (as in cachetools) to give each value a size in the policy's unit."""
        return None

    def __getitem__(self, key: Hashable) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            return self.__missing__(key)
        return value

    def __missing__(self, key: Hashable) -> Any:
        raise KeyError(key)

    def __setitem__(self, key: Hashable, value: Any) -> None:
        if not self.put(key, value, size=self.getsizeof(value)):
            raise ValueError(f"value for {key!r} not kept: the policy {type(self.policy).__name__} refused it "
                             "(too large for its bound)")

    def __delitem__(self, key: Hashable) -> None:
        if self.pop(key, _MISSING) is _MISSING:
            raise KeyError(key)

    def setdefault(self, key: Hashable, default: Any = None) -> Any:
        """The cached value, or store ``default`` (``__missing__`` is not asked, as in cachetools)."""
        value = self.get(key, _MISSING)
        if value is _MISSING:
            self[key] = value = default
        return value

    def popitem(self) -> tuple[Hashable, Any]:
        """Remove and return the entry the policy's order would evict next; KeyError when empty."""
        taken = None
        with self._lock:
            now = self.clock()
            while (victim := self._order.victim(None)) is not None:
                fresh = self._fresh_locked(victim, now)
                self._remove_locked(victim, "popped" if fresh else "expired")
                if fresh:
                    taken = victim
                    break
        self._dispatch_removals()
        if taken is None:
            raise KeyError("popitem(): the cache is empty") from None
        return taken.key, taken.value

    def values(self) -> list:
        """The live values, in the order of iteration (a snapshot; no hit is counted)."""
        return [value for _, value in self.items()]

    def items(self) -> list[tuple[Hashable, Any]]:
        """The live (key, value) pairs, in the order of iteration (a snapshot; no hit is counted)."""
        with self._lock:
            now = self.clock()
            return [(k, e.value) for k, e in self._entries.items() if self._fresh_locked(e, now)]

    def live_sizes(self, keys) -> dict[Hashable, int]:
        """``{key: bytes}`` for those of ``keys`` with a live entry: one lock, no scan of the others."""
        with self._lock:
            now, entries = self.clock(), self._entries
            return {k: e.size_bytes for k in keys if (e := entries.get(k)) is not None and self._fresh_locked(e, now)}

    def backdate(self, key: Hashable, seconds: float) -> bool:
        """Make ``key``'s entry ``seconds`` older, so an age bound (``max_age``, ``ttl``) serves it
        that much less: a value read back from a store that it was written to earlier."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False
            entry.inserted -= seconds
            return True

    def _bound(self) -> tuple[str, float]:
        policy = self.policy
        for attr in ("limit_bytes", "budget_bytes"):
            if getattr(policy, attr, None) is not None:
                return "bytes", getattr(policy, attr)
        for attr in ("max_items", "max_entries"):
            if getattr(policy, attr, None) is not None:
                return "entries", getattr(policy, attr)
        return "entries", math.inf

    @property
    def maxsize(self) -> float:
        """The policy's bound: bytes (RSS limit, budget), else entries, else ``math.inf``."""
        return self._bound()[1]

    @property
    def currsize(self) -> int:
        """What counts against ``maxsize``: managed bytes for a byte bound, else live entries."""
        return self.managed_bytes() if self._bound()[0] == "bytes" else len(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.policy).__name__}, entries={len(self)}, currsize={self.currsize})"
