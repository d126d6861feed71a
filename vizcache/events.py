"""What the cache did: monotonic counters, and a bounded log of loads, evictions and warnings a UI can poll.

Every request, hits included, goes to an access trace instead: :mod:`vizcache.trace`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field, fields
from typing import NamedTuple


@dataclass
class Counters:
    """Monotonic counts; the cache updates them under its lock.

    Invariants: ``hits + misses`` is every request; ``misses == loads + coalesced``
    (a coalesced request waited for another caller's load); ``loads == admits +
    rejections + load_failures``.
    """

    hits: int = 0
    misses: int = 0
    coalesced: int = 0
    loads: int = 0
    admits: int = 0
    rejections: int = 0
    load_failures: int = 0
    puts: int = 0  # values stored with put(): neither hits nor loads
    evictions: int = 0
    expirations: int = 0
    bytes_loaded: int = 0
    bytes_reclaimed: int = 0
    load_seconds: float = 0.0
    probe_calls: int = 0
    probe_seconds: float = 0.0
    sizing_calls: int = 0
    sizing_seconds: float = 0.0
    reclaim_seconds: float = 0.0  # gc.collect + malloc_trim after evictions
    release_seconds: float = 0.0  # dropping evicted values: the allocator and kernel taking their memory back

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Event(NamedTuple):
    seq: int
    time: float  # wall clock, seconds since the epoch
    kind: str  # load | reject | evict | expire | load_error | warning
    key: Hashable  # the cache key itself: shown with vizcache.cache_key.key_label, never parsed from text
    rss: int | None
    bytes: int | None
    latency: float | None
    detail: str = ""


@dataclass
class EventLog:
    """A bounded ring of the newest events; ``since(seq)`` lets a poller fetch only what is new."""

    maxlen: int = 1000
    _events: deque = field(init=False)
    _seq: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._events = deque(maxlen=self.maxlen)

    def add(self, kind: str, key, rss=None, nbytes=None, latency=None, detail: str = "") -> Event:
        self._seq += 1
        event = Event(self._seq, time.time(), kind, key, rss, nbytes, latency, detail)
        self._events.append(event)
        return event

    def since(self, seq: int = 0) -> list[Event]:
        return [e for e in list(self._events) if e.seq > seq]

    def __len__(self) -> int:
        return len(self._events)
