"""``pn.cache``'s ``max_items`` and ``policy="LRU"|"LFU"|"FIFO"`` on a vizcache policy, in O(1).

``pn.cache`` sorts every entry on each eviction (LRU and LFU); here each order keeps its own
queue, so an eviction costs the same with 10 entries or 100,000. The count bound composes with
a memory bound: ``CountBoundedRSS`` keeps RSS under ``limit`` (evicting least recently used
first, as ``RSSThresholdLRU`` does) *and* at most ``max_items`` entries (evicting in
``eviction`` order); ``CountBounded`` is the count bound alone, as ``pn.cache`` has it.

The queues follow the cache through the policy hooks: ``after_admit`` adds an entry (outside
the cache's lock), ``on_hit`` and ``on_remove`` run under it. A policy object keeps the queue of
one cache: give each cache its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import param

from .policies.expiry import Expiring
from .policies.rss_lru import RSSThresholdLRU
from .policies.size_estimated import SizeEstimatedLRU

EVICTIONS = ("LRU", "LFU", "FIFO")
_REASON = "max_items"


class _FIFOQueue:
    """First stored, first out: hits change nothing."""

    def __init__(self) -> None:
        self._entries: OrderedDict = OrderedDict()  # key -> entry

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entry) -> None:
        self._entries[entry.key] = entry

    def hit(self, entry) -> None:
        pass

    def remove(self, entry) -> bool:
        if self._entries.get(entry.key) is not entry:
            return False
        del self._entries[entry.key]
        return True

    def victim(self, exclude: Hashable):
        for key, entry in self._entries.items():  # at most two steps: one key is excluded
            if key != exclude:
                return entry
        return None


class _LRUQueue(_FIFOQueue):
    """Least recently used first: a hit moves the entry to the back."""

    def hit(self, entry) -> None:
        if self._entries.get(entry.key) is entry:
            self._entries.move_to_end(entry.key)


class _Bucket:
    __slots__ = ("count", "entries", "prev", "next")

    def __init__(self, count: int) -> None:
        self.count = count
        self.entries: OrderedDict = OrderedDict()
        self.prev: _Bucket | None = None
        self.next: _Bucket | None = None


class _LFUQueue:
    """Least frequently used first, the oldest of a frequency first: buckets of equal hit
    counts in a linked list ordered by count, so adding, a hit and removing are each O(1)."""

    def __init__(self) -> None:
        self._head: _Bucket | None = None
        self._bucket: dict = {}  # key -> its bucket

    def __len__(self) -> int:
        return len(self._bucket)

    def _insert_after(self, before: _Bucket | None, count: int) -> _Bucket:
        bucket = _Bucket(count)
        after = self._head if before is None else before.next
        bucket.prev, bucket.next = before, after
        if after is not None:
            after.prev = bucket
        if before is None:
            self._head = bucket
        else:
            before.next = bucket
        return bucket

    def _unlink_if_empty(self, bucket: _Bucket) -> None:
        if bucket.entries:
            return
        if bucket.prev is None:
            self._head = bucket.next
        else:
            bucket.prev.next = bucket.next
        if bucket.next is not None:
            bucket.next.prev = bucket.prev

    def add(self, entry) -> None:
        head = self._head
        bucket = head if head is not None and head.count == 0 else self._insert_after(None, 0)
        bucket.entries[entry.key] = entry
        self._bucket[entry.key] = bucket

    def hit(self, entry) -> None:
        bucket = self._bucket.get(entry.key)
        if bucket is None or bucket.entries.get(entry.key) is not entry:
            return
        following = bucket.next
        if following is None or following.count != bucket.count + 1:
            following = self._insert_after(bucket, bucket.count + 1)
        del bucket.entries[entry.key]
        following.entries[entry.key] = entry
        self._bucket[entry.key] = following
        self._unlink_if_empty(bucket)

    def remove(self, entry) -> bool:
        bucket = self._bucket.get(entry.key)
        if bucket is None or bucket.entries.get(entry.key) is not entry:
            return False
        del bucket.entries[entry.key]
        del self._bucket[entry.key]
        self._unlink_if_empty(bucket)
        return True

    def victim(self, exclude: Hashable):
        bucket = self._head
        while bucket is not None:  # at most two steps: one key is excluded
            for key, entry in bucket.entries.items():
                if key != exclude:
                    return entry
            bucket = bucket.next
        return None


_QUEUES = {"LRU": _LRUQueue, "LFU": _LFUQueue, "FIFO": _FIFOQueue}


class CountBounded(Expiring):
    """At most ``max_items`` entries, the next to go chosen by ``eviction``; ``max_age`` is
    ``pn.cache``'s ``ttl``.

    >>> from vizcache import Cache
    >>> cache = Cache(CountBounded(max_items=2, eviction="LFU"))
    """

    max_items = param.Integer(
        None, bounds=(1, 10**9), allow_None=True,
        doc="Most entries kept (pn.cache's max_items); unset for no count bound.",
    )
    eviction = param.Selector(
        default="LRU", objects=list(EVICTIONS), constant=True,
        doc='Which entry the count bound evicts first: "LRU" (least recently used), "LFU" (least '
            'often hit; the oldest of those first) or "FIFO" (first stored). pn.cache\'s policy.',
    )

    def __init__(self, **params) -> None:
        self._queue = _QUEUES.get(params.get("eviction"), _LRUQueue)()  # param checks the name
        self._queue_lock = threading.Lock()  # taken under the cache's lock, never the other way
        self._leaving: dict[int, object] = {}  # victims chosen, not yet removed: id -> entry
        self._gone_early: dict[int, object] = {}  # removed before after_admit saw them
        #: Called with the keys the count bound evicted (the disk tier forgets them too).
        self.on_count_eviction: Callable[[list], None] | None = None
        super().__init__(**params)

    def _resolve(self) -> None:
        super()._resolve()
        self._max_items = self.max_items

    def on_hit(self, entry) -> None:
        with self._queue_lock:
            self._queue.hit(entry)

    def on_remove(self, entry, cause: str) -> None:
        with self._queue_lock:
            if self._leaving.pop(id(entry), None) is None and not self._queue.remove(entry):
                self._gone_early[id(entry)] = entry  # holding it keeps its id from being reused

    def after_admit(self, cache, entry, rss_after: int) -> None:
        with self._queue_lock:
            if self._gone_early.pop(id(entry), None) is not None:
                return
            self._queue.add(entry)
        try:
            super().after_admit(cache, entry, rss_after)  # the memory bound's own evictions
        finally:
            self._evict_over_count(cache, entry)

    def _evict_over_count(self, cache, entry) -> None:
        victims = []
        with self._queue_lock:
            limit = self._max_items
            while limit is not None and len(self._queue) > limit:
                victim = self._queue.victim(exclude=entry.key)
                if victim is None:
                    break
                self._queue.remove(victim)
                self._leaving[id(victim)] = victim
                victims.append(victim)
        if not victims:
            return
        evicted = cache.evict_entries(victims, reason=_REASON)  # calls on_remove for each one removed
        with self._queue_lock:
            for victim in victims:  # one already gone (invalidated meanwhile) was never removed
                self._leaving.pop(id(victim), None)
        if self.on_count_eviction is not None and evicted:
            self.on_count_eviction([e.key for e in evicted])

    def policy_stats(self, cache) -> dict:
        return {**super().policy_stats(cache), "max_items": self._max_items, "eviction": self.eviction}


class CountBoundedRSS(CountBounded, RSSThresholdLRU):
    """RSS under ``limit`` (least recently used out first) and at most ``max_items`` entries
    (``eviction`` order): ``pn.cache``'s count bound with the memory bound it lacks.

    >>> policy = CountBoundedRSS(limit="2GiB", max_items=100, eviction="FIFO")
    """


class CountBoundedBudget(CountBounded, SizeEstimatedLRU):
    """Estimated bytes under ``budget`` and at most ``max_items`` entries (``eviction`` order).

    >>> policy = CountBoundedBudget(budget="512MiB", estimator="deep", max_items=100)
    """

