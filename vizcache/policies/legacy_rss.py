"""LegacyRSSManager: the old viewer's own RSS fix, replicated as a baseline to beat."""

from __future__ import annotations

from .rss_limit import RSSLimit


class LegacyRSSManager(RSSLimit):
    """The old viewer's RSS fix, kept faithfully so an A/B can show whether vizcache beats it.

    Before a load, if RSS is above ``high_water`` of the limit, it deletes least-recently-used
    entries one at a time, re-reading RSS after each and collecting nothing in between, until
    RSS is below ``low_water``; then it runs one full ``gc.collect()``. After a load it keeps
    the new value only if RSS is still below ``high_water`` — otherwise it drops the *new*
    value and keeps the old ones, so once the cache is full of yesterday's hot set every
    newcomer is turned away. (The old code checked before every request; a hit allocates
    nothing, so checking before each load is the same decision.)

    Examples
    --------
    >>> policy = LegacyRSSManager(limit="4GiB")
    >>> policy.high_bytes == int(0.8 * 4 * 2**30)
    True
    """

    def make_room(self, cache, key) -> None:
        if cache.rss() <= self.high_bytes:
            return
        low = self.low_bytes
        cache.evict_until(lambda: cache.rss() < low, reason="legacy: RSS above high water")
        cache.collect_garbage()

    def admit(self, cache, entry, rss_after: int) -> bool:
        return rss_after < self.high_bytes
