"""LegacyRSSManager: the old viewer's own RSS fix, replicated as a baseline to beat."""

from __future__ import annotations

import param

from ..memory import auto_memory_limit
from ..units import parse_bytes
from .base import ByteSize, CachePolicy


class LegacyRSSManager(CachePolicy):
    """The old viewer's RSS fix, kept faithfully so an A/B can show whether vizcache beats it.

    Before a load, if RSS is above ``high_water`` of the limit, it deletes least-recently-used
    entries one at a time, re-reading RSS after each and collecting nothing in between, until
    RSS is below ``low_water``; then it runs one full ``gc.collect()``. After a load it keeps
    the new value only if RSS is still below ``high_water`` — otherwise it drops the *new*
    value and keeps the old ones, so once the cache is full of yesterday's hot set every
    newcomer is turned away. (The old code checked before every request; a hit allocates
    nothing, so checking before each load is the same decision.)

    >>> policy = LegacyRSSManager(limit="4GiB")
    >>> policy.high_bytes == int(0.8 * 4 * 2**30)
    True
    """

    limit = ByteSize(
        "auto", allow_auto=True, bounds=(2**20, 2**50),
        doc='RSS the process must stay under: bytes, a size string ("1.5GiB"), or "auto" '
            "(the cgroup memory limit if one is set, else half of physical RAM).",
    )
    high_water = param.Number(
        0.8, bounds=(0.05, 1.0),
        doc="Fraction of limit above which entries are deleted before a load, and above which a new value is not kept.",
    )
    low_water = param.Number(
        0.7, bounds=(0.0, 0.99),
        doc="Fraction of limit that deleting brings RSS below; must be below high_water.",
    )

    def _resolve(self) -> None:
        if self.low_water >= self.high_water:
            raise ValueError(f"low_water ({self.low_water}) must be below high_water ({self.high_water})")
        if self.limit == "auto":
            self.limit_bytes, self.limit_source = auto_memory_limit(0.5)
        else:
            self.limit_bytes, self.limit_source = parse_bytes(self.limit), "configured"
        self.high_bytes = int(self.limit_bytes * self.high_water)
        self.low_bytes = int(self.limit_bytes * self.low_water)

    def make_room(self, cache, key) -> None:
        if cache.rss() <= self.high_bytes:
            return
        low = self.low_bytes
        cache.evict_until(lambda: cache.rss() < low, reason="legacy: RSS above high water")
        cache.collect_garbage()

    def admit(self, cache, entry, rss_after: int) -> bool:
        return rss_after < self.high_bytes

    def policy_stats(self, cache) -> dict:
        return {
            "limit_bytes": self.limit_bytes,
            "limit_source": self.limit_source,
            "high_water_bytes": self.high_bytes,
            "low_water_bytes": self.low_bytes,
        }
