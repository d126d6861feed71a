"""RSSThresholdLRU: bound the process's RSS, sizing no object."""

from __future__ import annotations

import param

from ..memory import auto_memory_limit
from ..units import format_bytes, parse_bytes
from .base import ByteSize, CachePolicy


class RSSThresholdLRU(CachePolicy):
    """Evict least-recently-used entries while process RSS is above high water, down to low water.

    It never sizes an object: it reads RSS (about 1.4 µs) before a load and after it, and after
    each eviction (once ``gc.collect()`` and ``malloc_trim(0)`` have returned freed memory).

    >>> policy = RSSThresholdLRU(limit="2GiB", high_water=0.8, low_water=0.6)
    >>> policy.high_bytes == int(0.8 * 2**30 * 2)
    True
    """

    limit = ByteSize(
        "auto", allow_auto=True, bounds=(2**20, 2**50),
        doc='RSS the process must stay under: bytes, a size string ("1.5GiB", "800MB"), or "auto" '
            "(the cgroup memory limit if one is set, else auto_fraction of physical RAM).",
    )
    high_water = param.Number(
        0.8, bounds=(0.05, 1.0),
        doc="Fraction of limit at which eviction starts (before a load and after admitting one).",
    )
    low_water = param.Number(
        0.7, bounds=(0.0, 0.99),
        doc="Fraction of limit that eviction brings RSS down to; below high_water, so the cache does not thrash.",
    )
    auto_fraction = param.Number(
        0.5, bounds=(0.05, 0.95),
        doc='Fraction of physical RAM that limit="auto" means when no cgroup limit is set.',
    )

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self._resolve()

    @param.depends("limit", "high_water", "low_water", "auto_fraction", watch=True)
    def _resolve(self) -> None:
        # Plain attributes for the miss path: reading a param costs ~2 µs, a plain one ~0.03 µs.
        if self.low_water >= self.high_water:
            raise ValueError(f"low_water ({self.low_water}) must be below high_water ({self.high_water})")
        if self.limit == "auto":
            self.limit_bytes, self.limit_source = auto_memory_limit(self.auto_fraction)
        else:
            self.limit_bytes, self.limit_source = parse_bytes(self.limit), "configured"
        self.high_bytes = int(self.limit_bytes * self.high_water)
        self.low_bytes = int(self.limit_bytes * self.low_water)

    def _evict_down_to(self, cache, target: int, rss: int, exclude=None, reason: str = "rss") -> int:
        while rss > target:
            victim = cache.lru_victim(exclude=exclude)
            if victim is None:
                cache.warn(
                    f"RSS {format_bytes(rss)} is above the target {format_bytes(target)} with nothing "
                    "left to evict: the memory is not the cache's"
                )
                return rss
            eviction = cache.evict(victim, reason=reason, reclaim=True)
            rss = eviction.rss_after if eviction is not None else cache.rss()
        return rss

    def make_room(self, cache, key) -> None:
        rss = cache.rss()
        if rss > self.high_bytes:
            self._evict_down_to(cache, self.low_bytes, rss)

    def admit(self, cache, entry, rss_after: int) -> bool:
        if rss_after <= self.limit_bytes:
            return True
        # The load itself crossed the limit: make room among the others first.
        rss = self._evict_down_to(cache, self.low_bytes, rss_after, reason="over-limit")
        return rss <= self.limit_bytes

    def after_admit(self, cache, entry, rss_after: int) -> None:
        if rss_after > self.high_bytes:
            self._evict_down_to(cache, self.low_bytes, cache.rss(), exclude=entry.key)

    def policy_stats(self, cache) -> dict:
        return {
            "limit_bytes": self.limit_bytes,
            "limit_source": self.limit_source,
            "high_water_bytes": self.high_bytes,
            "low_water_bytes": self.low_bytes,
        }
