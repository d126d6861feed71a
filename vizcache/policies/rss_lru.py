"""RSSThresholdLRU: bound the process's RSS, sizing no object."""

from __future__ import annotations

from ..memory import tune_allocator
from ..units import format_bytes
from .expiry import Expiring, order_parameter
from .rss_limit import RSSLimit


class RSSThresholdLRU(RSSLimit, Expiring):
    """Keep process RSS under ``limit`` by evicting least-recently-used entries; size no object.

    It reads RSS (about 1.4 µs) before a load and after it. Before loading a key it has seen
    before, it evicts just enough for that key's last size to fit under high water; for a key
    it has never loaded, it evicts down to low water once RSS is above high water. After each
    eviction it trims the heap and reads RSS again; a full garbage collection runs only when
    freed memory did not show up, throttled. It stops evicting when evictions stop giving
    memory back (the memory is not the cache's), and it does not flush the cache for a value
    that could not fit even in an empty one. ``order`` picks the victims; ``max_age``,
    ``max_idle`` and ``max_entries`` add expiry and a count cap. ``high_water`` is the mark RSS
    plus the next load should stay under; ``low_water`` the one it evicts down to when the size
    of the next load is unknown (a key never loaded before).

    Making one tunes the process's allocator (:func:`vizcache.memory.tune_allocator`, as
    dask/distributed does for its workers) so that freed memory leaves RSS at once: otherwise a
    load's transient memory counts as held, and the policy evicts for memory nobody uses.

    >>> policy = RSSThresholdLRU(limit="2GiB", high_water=0.8, low_water=0.6)
    >>> policy.high_bytes == int(0.8 * 2**30 * 2)
    True
    """

    order = order_parameter()

    def _resolve(self) -> None:
        super()._resolve()
        self.trim_above_bytes = self.high_bytes  # decisions from here on need RSS without freed memory
        # RSS must show what is held, not what glibc keeps after a load: see tune_allocator.
        tune_allocator()

    def make_room(self, cache, key) -> None:
        super().make_room(cache, key)
        rss = cache.rss()
        expected = cache.expected_bytes(key)
        if expected is None:
            if rss > self.high_bytes:
                cache.evict_until(rss_target=self.low_bytes, reason="RSS above high water")
            return
        if rss + expected <= self.high_bytes:
            return
        floor = rss - cache.managed_bytes()  # RSS with every entry gone, as far as the cache can tell
        if floor + expected > self.limit_bytes:
            cache.warn(f"{key!r} weighed {format_bytes(expected)} last time and cannot fit under the limit "
                       f"{format_bytes(self.limit_bytes)} even in an empty cache ({format_bytes(floor)} of RSS "
                       "is not the cache's): the cache is not flushed for it")
            return
        cache.evict_until(rss_target=self.high_bytes - expected, reason=f"room for {format_bytes(expected)}")

    def admit(self, cache, entry, rss_after: int) -> bool:
        if rss_after <= self.limit_bytes:
            return True
        # The load itself crossed the limit: keep it only if evicting the others can make it fit.
        if rss_after - cache.managed_bytes() > self.limit_bytes:
            return False
        cache.evict_until(rss_target=self.high_bytes, reason="over the limit")
        return cache.rss() <= self.limit_bytes

    def after_admit(self, cache, entry, rss_after: int) -> None:
        super().after_admit(cache, entry, rss_after)
        if rss_after > self.high_bytes:
            cache.evict_until(rss_target=self.high_bytes, reason="RSS above high water", exclude=entry.key)
