"""Eviction orders: which entry goes next, kept apart from the bound that decides how many go.

``lru`` moves an entry to the back on every hit. ``s3fifo`` (Yang et al., SOSP 2023) keeps a
small FIFO for newcomers (10 % of the cached bytes) and a main FIFO; a hit only bumps a 2-bit
counter, so its hit is cheaper than LRU's. A newcomer that is not hit again before it reaches
the small queue's head leaves early and is remembered in a ghost list; one that was hit, or
that comes back while remembered, goes to the main queue, whose entries get one more round per
hit. One-hit wonders (a scan, a catalog opened once) so pass through without pushing out the
hot set, and a new hot set still gets in.

Both run under the cache's lock; they only reorder references, never call out. A hit is
handled inline by the cache (move to the end for ``lru``; bump ``entry.freq``, capped at 3,
for ``s3fifo``) because it is the hot path.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator

ORDERS = ("lru", "s3fifo")
_SMALL_SHARE = 0.10  # the small queue's share of the cached bytes (the paper's and libCacheSim's)
_GHOSTS = 4096


class LRUOrder:
    """Least recently used first; the cache's own ordered dict is the queue."""

    name = "lru"

    def __init__(self, entries: OrderedDict) -> None:
        self._entries = entries

    def inserted(self, entry) -> None:
        pass  # a new key is appended at the back of the ordered dict already

    def removed(self, entry) -> None:
        pass

    def victim(self, exclude: Hashable | None):
        for key, entry in self._entries.items():
            if key != exclude:
                return entry
        return None

    def in_order(self) -> Iterator:
        return iter(self._entries.values())


class S3FIFOOrder:
    """S3-FIFO by bytes: a small FIFO, a main FIFO with re-insertion, and a ghost list of keys."""

    name = "s3fifo"

    def __init__(self, entries: OrderedDict) -> None:
        self._small: OrderedDict = OrderedDict()
        self._main: OrderedDict = OrderedDict()
        self._ghost: OrderedDict = OrderedDict()
        self._small_bytes = 0
        self._total_bytes = 0
        for entry in entries.values():
            self.inserted(entry)

    def inserted(self, entry) -> None:
        entry.freq = 0
        size = entry.size_bytes
        self._total_bytes += size
        if self._ghost.pop(entry.key, None) is not None:  # came back while remembered
            self._main[entry.key] = entry
        else:
            self._small[entry.key] = entry
            self._small_bytes += size

    def removed(self, entry) -> None:
        size = entry.size_bytes
        if self._small.get(entry.key) is entry:
            del self._small[entry.key]
            self._small_bytes -= size
            self._total_bytes -= size
        elif self._main.get(entry.key) is entry:
            del self._main[entry.key]
            self._total_bytes -= size

    def victim(self, exclude: Hashable | None):
        # Each pass either returns a victim or moves one entry (promotion or re-insertion), and
        # every move lowers a counter, so 4 rounds over all entries bound the search.
        for _ in range(4 * (len(self._small) + len(self._main)) + 2):
            # The small queue's share is taken of the main queue's bytes: with the bound reached,
            # that is the paper's "10 % of the cache" without the order having to know the bound.
            main_bytes = self._total_bytes - self._small_bytes
            from_small = self._small and (self._small_bytes >= _SMALL_SHARE * main_bytes or not self._main)
            queue = self._small if from_small else self._main
            candidate = next((e for k, e in queue.items() if k != exclude), None)
            if candidate is None:
                queue = self._main if from_small else self._small
                candidate = next((e for k, e in queue.items() if k != exclude), None)
                if candidate is None:
                    return None
                from_small = not from_small
            if from_small:
                if candidate.freq == 0:
                    self._remember(candidate.key)
                    return candidate
                del self._small[candidate.key]  # hit while new: promoted to main
                self._small_bytes -= candidate.size_bytes
                candidate.freq = 0
                self._main[candidate.key] = candidate
            elif candidate.freq == 0:
                return candidate
            else:
                candidate.freq -= 1  # one more round in main
                self._main.move_to_end(candidate.key)
        return None

    def _remember(self, key: Hashable) -> None:
        self._ghost[key] = True
        self._ghost.move_to_end(key)
        if len(self._ghost) > max(_GHOSTS, len(self._main)):
            self._ghost.popitem(last=False)

    def in_order(self) -> Iterator:
        yield from self._small.values()
        yield from self._main.values()


def make_order(name: str, entries: OrderedDict):
    """The order called ``name`` over the cache's ``entries``."""
    if name == "lru":
        return LRUOrder(entries)
    if name == "s3fifo":
        return S3FIFOOrder(entries)
    raise ValueError(f"unknown eviction order {name!r}; use one of {', '.join(ORDERS)}")
