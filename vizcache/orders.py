"""Eviction orders: which entry goes next, kept apart from the bound that decides how many go.

``lru`` moves an entry to the back on every hit. ``s3fifo`` (Yang et al., SOSP 2023) keeps a
small FIFO for newcomers (10 % of the cached bytes) and a main FIFO; a hit only bumps a 2-bit
counter, so its hit is cheaper than LRU's. A newcomer that is not hit again before it reaches
the small queue's head leaves early and is remembered in a ghost list; one that was hit, or
that comes back while remembered, goes to the main queue, whose entries get one more round per
hit. One-hit wonders (a scan, a catalog opened once) so pass through without pushing out the
hot set, and a new hot set still gets in. As in libCacheSim's S3FIFO.c (Dec 2024), until the
first eviction a newcomer that finds the small queue full goes to main, and the ghost list
remembers up to 90 % of the cache's bytes. ``sieve`` (Zhang et al., NSDI 2024) keeps one FIFO; a
hit only marks the entry visited, and a hand walking from the oldest entry to the newest clears
marks and evicts the first unmarked one, staying where it stopped.

All run under the cache's lock; they only reorder references, never call out. A hit is
handled inline by the cache (move to the end for ``lru``; bump ``entry.freq``, capped at 3,
for the others: ``sieve`` reads a non-zero counter as its visited bit) because it is the hot path.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator

ORDERS = ("lru", "s3fifo", "sieve")
_SMALL_SHARE = 0.10  # the small queue's share of the cached bytes (the paper's and libCacheSim's)
_PROMOTE_AFTER_HITS = 2  # hits while in the small queue that earn a place in main (libCacheSim's default)
_GHOST_SHARE = 0.90  # the ghost list remembers this share of the cache's bytes (libCacheSim's ghost-size-ratio)
_GHOSTS = 100_000  # keys, whatever their sizes: bounds the ghost list's own memory


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


def weight(entry) -> int:
    """What an entry weighs for an order: the policy's estimate when it made one, else the best
    size known (loader report or RSS delta); at least 1, so an unsized entry still counts."""
    size = entry.estimated_bytes if entry.estimated_bytes is not None else entry.size_bytes
    return max(1, size)


class S3FIFOOrder:
    """S3-FIFO by bytes, as libCacheSim's ``S3FIFO``: a small FIFO, a main FIFO with re-insertion,
    and a ghost list of keys evicted from small."""

    name = "s3fifo"

    def __init__(self, entries: OrderedDict) -> None:
        self._small: OrderedDict = OrderedDict()  # key -> entry
        self._main: OrderedDict = OrderedDict()
        self._weights: dict = {}  # key -> weight when inserted: later re-estimates must not skew the sums
        self._ghost: OrderedDict = OrderedDict()  # key -> weight
        self._small_bytes = self._main_bytes = self._ghost_bytes = 0
        self._evicted = False  # before the first eviction the cache's capacity is not known yet
        for entry in entries.values():
            self.inserted(entry)

    def inserted(self, entry) -> None:
        entry.freq = 0
        w = self._weights[entry.key] = weight(entry)
        remembered = self._ghost.pop(entry.key, None)
        if remembered is not None:  # came back while remembered: straight to main
            self._ghost_bytes -= remembered
            self._main[entry.key] = entry
            self._main_bytes += w
        else:
            self._small[entry.key] = entry
            self._small_bytes += w

    def removed(self, entry) -> None:
        if self._small.get(entry.key) is entry:
            del self._small[entry.key]
            self._small_bytes -= self._weights.pop(entry.key)
        elif self._main.get(entry.key) is entry:
            del self._main[entry.key]
            self._main_bytes -= self._weights.pop(entry.key)

    def victim(self, exclude: Hashable | None):
        # The cache is full when it evicts, so its bytes without the entry being admitted
        # (``exclude``, which S3-FIFO would insert only after making room) stand for the capacity.
        capacity = self._small_bytes + self._main_bytes - self._weights.get(exclude, 0) if exclude in self._small \
            else self._small_bytes + self._main_bytes
        if not self._evicted:
            self._evicted = True
            self._warm_up(capacity, exclude)
        # Each pass returns a victim or moves one entry and lowers a counter: bounded.
        for _ in range(4 * (len(self._small) + len(self._main)) + 2):
            small = next((e for k, e in self._small.items() if k != exclude), None)
            # Take from main while it holds more than its 90 % share, else from small.
            if small is not None and self._main_bytes <= (1 - _SMALL_SHARE) * capacity:
                if small.freq < _PROMOTE_AFTER_HITS:
                    self._remember(small.key, capacity)
                    return small
                del self._small[small.key]  # hit while new: promoted to main, counter cleared
                w = self._weights[small.key]
                self._small_bytes -= w
                self._main_bytes += w
                small.freq = 0
                self._main[small.key] = small
                continue
            candidate = next((e for k, e in self._main.items() if k != exclude), None)
            if candidate is None:
                if small is None:
                    return None
                self._remember(small.key, capacity)
                return small
            if candidate.freq == 0:
                return candidate
            candidate.freq -= 1  # one more round in main
            self._main.move_to_end(candidate.key)
        return None

    def _warm_up(self, capacity: int, exclude: Hashable | None) -> None:
        # libCacheSim sends a newcomer to main once small holds its share, until the first eviction;
        # the capacity is known only now, so the entries that would have gone to main move there now
        # (in order, counters kept: ghost and promotions have not happened yet, so this is the same state).
        kept, share = 0, int(_SMALL_SHARE * capacity)
        for key, entry in list(self._small.items()):
            if key == exclude:
                continue
            if kept < share:
                kept += self._weights[key]
                continue
            del self._small[key]
            w = self._weights[key]
            self._small_bytes -= w
            self._main_bytes += w
            self._main[key] = entry

    def _remember(self, key: Hashable, capacity: int) -> None:
        w = self._weights[key]
        limit = int(_GHOST_SHARE * capacity)
        if w > limit:
            return
        self._ghost[key] = w
        self._ghost_bytes += w
        while self._ghost and (self._ghost_bytes > limit or len(self._ghost) > _GHOSTS):
            self._ghost_bytes -= self._ghost.popitem(last=False)[1]

    def in_order(self) -> Iterator:
        yield from self._small.values()
        yield from self._main.values()


class SieveOrder:
    """SIEVE, as libCacheSim's ``Sieve``: one FIFO, a visited mark per entry (``entry.freq`` above 0) and a hand.

    The FIFO is a list, oldest first; a removed entry leaves a hole that the hand steps over, and
    holes are dropped when the hand wraps (after a pass over the list) or outnumber the entries.
    """

    name = "sieve"

    def __init__(self, entries: OrderedDict) -> None:
        self._queue: list = []
        self._at: dict = {}  # key -> index in _queue
        self._hand: int | None = None  # None: the next eviction starts at the oldest entry
        self._admitting = None  # the key the cache is making room for (it admits before it evicts)
        for entry in entries.values():
            self.inserted(entry)

    def inserted(self, entry) -> None:
        entry.freq = 0
        self._at[entry.key] = len(self._queue)
        self._queue.append(entry)

    def removed(self, entry) -> None:
        i = self._at.get(entry.key)
        if i is None or self._queue[i] is not entry:
            return
        del self._at[entry.key]
        self._queue[i] = None
        if i == self._hand:  # the hand moves on to the next newer entry, or back to the oldest
            # libCacheSim evicts before it inserts: past the newest entry it has, its hand goes back to the oldest
            last = i + 1 == len(self._queue) - 1 and self._queue[i + 1] is not None and self._queue[i + 1].key == self._admitting
            self._hand = i + 1 if i + 1 < len(self._queue) and not last else None
        if len(self._queue) > 64 and len(self._at) < len(self._queue) // 2:
            self._compact()

    def _compact(self) -> None:
        hand = self._hand
        if hand is not None:
            hand = sum(1 for e in self._queue[:hand] if e is not None)
        self._queue = [e for e in self._queue if e is not None]
        self._at = {e.key: i for i, e in enumerate(self._queue)}
        self._hand = hand if hand is not None and hand < len(self._queue) else None

    def victim(self, exclude: Hashable | None):
        self._admitting = exclude
        if self._hand is None:
            self._compact()
            self._hand = 0
        # two passes clear every mark; a third finds nothing only when exclude is all there is
        for _ in range(3 * len(self._queue) + 3):
            if self._hand >= len(self._queue):
                self._compact()
                self._hand = 0
                if not self._queue:
                    return None
            entry = self._queue[self._hand]
            if entry is not None and entry.key != exclude:
                if not entry.freq:
                    return entry  # the hand stays on it until the cache removes it
                entry.freq = 0
            self._hand += 1
        return None

    def in_order(self) -> Iterator:
        start = self._hand or 0
        for entry in self._queue[start:] + self._queue[:start]:
            if entry is not None:
                yield entry


def make_order(name: str, entries: OrderedDict):
    """The order called ``name`` over the cache's ``entries``."""
    if name == "lru":
        return LRUOrder(entries)
    if name == "s3fifo":
        return S3FIFOOrder(entries)
    if name == "sieve":
        return SieveOrder(entries)
    raise ValueError(f"unknown eviction order {name!r}; use one of {', '.join(ORDERS)}")
