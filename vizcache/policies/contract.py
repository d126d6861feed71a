"""What a policy may ask of the cache: the whole contract, as a typing ``Protocol``.

Policies never touch the cache's dict. Every probe, size estimate and eviction goes through
these calls so it is timed, counted and logged in one place, and so eviction is done by one
helper that handles the races (a victim already gone, a key reloaded meanwhile) once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, NamedTuple, Protocol


class EntryView(Protocol):
    """The fields of a cached entry a policy reads (times come from the cache's clock)."""

    key: Hashable
    value: Any
    inserted: float
    last_access: float
    hits: int
    rss_delta_bytes: int  # process RSS after the load minus before: an attribution guess
    reported_bytes: int | None  # what the loader said the value weighs, when it said
    overlapped: bool  # another load ran meanwhile, so rss_delta_bytes includes its memory
    estimated_bytes: int | None  # set by size-estimating policies

    @property
    def size_bytes(self) -> int:
        """The best size known: the reported one, else the RSS delta."""


class Eviction(NamedTuple):
    """One entry removed by the eviction helper, and what RSS did when that was measured."""

    key: Hashable
    size_bytes: int
    estimated_bytes: int | None
    reclaimed_bytes: int | None  # RSS given back, when measured (negative: others allocated)
    rss_after: int | None


class LoadsInProgressView(NamedTuple):
    """Loads whose loaders run now, and the bytes they are expected to add once done."""

    count: int
    expected_bytes: int


class CacheView(Protocol):
    """The calls a :class:`~vizcache.policies.CachePolicy` hook may make on its cache."""

    clock: Callable[[], float]

    def rss(self) -> int:
        """Process RSS in bytes, timed and counted as policy overhead."""

    def estimate(self, value: Any, estimator: Callable[[Any], int]) -> int:
        """Size ``value`` with ``estimator``, timed and counted as policy overhead."""

    def entry_objects(self) -> list[EntryView]:
        """A snapshot of the live entries, in eviction order (least recently used first)."""

    def expected_bytes(self, key: Hashable) -> int | None:
        """What ``key`` weighed when last loaded, or None if the cache has not seen it load."""

    def typical_bytes(self) -> int | None:
        """The mean size of the last few keys whose sizes are known: a guess for a key never seen."""

    def loads_in_progress(self, exclude: Hashable | None = None) -> LoadsInProgressView:
        """Other loads running now (not blocked) and the bytes they are expected to add."""

    def wait_for_a_load(self, timeout: float) -> bool:
        """Pause until another load ends; False at once when none is running (or on timeout)."""

    def managed_bytes(self) -> int:
        """Bytes of memory the cache can account for: the sum of its entries' sizes."""

    def evict_until(
        self,
        done: Callable[[], bool] | None = None,
        *,
        rss_target: int | None = None,
        reason: str,
        exclude: Hashable | None = None,
    ) -> list[Eviction]:
        """Evict in eviction order until ``done()`` or RSS ≤ ``rss_target``; see ``Cache.evict_until``."""

    def evict_entries(self, entries: Iterable[EntryView], reason: str) -> list[Eviction]:
        """Evict exactly these entries, skipping any that are gone or were reloaded meanwhile."""

    def collect_garbage(self) -> None:
        """A full ``gc.collect()`` and heap trim, timed as reclaim overhead (costly in a big heap)."""

    def warn(self, message: str) -> None:
        """Record a warning in stats and the event log (logged at most every 30 s)."""
