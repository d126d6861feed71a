"""What the cache holds and hands around: entries, loads in flight, and their small records."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, NamedTuple


class Sized(NamedTuple):
    """What a loader returns to report its value's true size; the cache stores ``value`` only.

    Examples
    --------
    >>> from vizcache import Cache
    >>> cache = Cache()
    >>> cache.get_or_load("a", lambda: Sized([1, 2], nbytes=16))
    [1, 2]
    """

    value: Any
    nbytes: int


class RecursiveLoadError(RuntimeError):
    """A load asked, directly or through other loads, for a key it is itself producing."""


class Entry:
    """One cached value and what the cache knows about it (times from the cache's clock).

    ``size_bytes`` is the best size known: the loader's report, else the RSS delta around the
    load — except for a load that others overlapped, whose delta holds their memory too: the
    cache then attributes it a share (see ``Cache``), never more than RSS had room for.
    """

    __slots__ = ("key", "value", "inserted", "last_access", "hits", "load_seconds", "rss_delta_bytes",
                 "reported_bytes", "overlapped", "estimated_bytes", "freq", "size_bytes", "planned_bytes",
                 "landed_during")

    def __init__(self, key, value, now: float, load_seconds: float, rss_delta_bytes: int,
                 reported_bytes: int | None = None, overlapped: bool = False) -> None:
        self.key = key
        self.value = value
        self.inserted = now
        self.last_access = now
        self.hits = 0
        self.load_seconds = load_seconds
        self.rss_delta_bytes = rss_delta_bytes
        self.reported_bytes = reported_bytes
        self.overlapped = overlapped
        self.estimated_bytes: int | None = None
        self.freq = 0  # hits counted by frequency-aware eviction orders
        self.size_bytes = reported_bytes if reported_bytes is not None else rss_delta_bytes
        self.planned_bytes: int | None = None  # what room was made for before the load
        self.landed_during = 0  # bytes given to other loads that ended while this one ran


class LoadFlight:
    """A load in progress that other callers of the same key wait on."""

    __slots__ = ("done", "value", "error", "traceback", "owner", "invalidated", "expected", "guess", "loading",
                 "rss_at_start")

    def __init__(self, owner: int) -> None:
        self.done = threading.Event()
        self.value = None
        self.error: BaseException | None = None
        self.traceback = None
        self.owner = owner  # thread ident of the leader, for cycle detection
        self.invalidated = False
        self.expected: int | None = None  # bytes the load is expected to add: room it holds while running
        self.guess: int | None = None  # for a key never seen: the typical size, room held in its stead
        self.loading = False  # the loader is running (not waiting for room first)
        self.rss_at_start = 0  # RSS when its room was reserved

    def fail(self, error: BaseException) -> None:
        self.error, self.traceback = error, error.__traceback__

    def result(self):
        self.done.wait()
        if self.error is not None:
            # Each waiter raises from the leader's traceback, not from the one the previous
            # waiter's raise grew: 30 waiters must not make a 120-frame traceback.
            raise self.error.with_traceback(self.traceback)
        return self.value


class LoadsInProgress(NamedTuple):
    """Loads whose loaders run now, and the bytes they are expected to add once done."""

    count: int
    expected_bytes: int


@dataclass(frozen=True)
class Invalidation:
    """What ``invalidate``/``clear`` did: cached entries dropped, in-flight loads that will not be kept."""

    cached: int
    in_flight: int

    def __bool__(self) -> bool:
        return bool(self.cached or self.in_flight)
