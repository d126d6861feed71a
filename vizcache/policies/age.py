"""AgeBased: entries expire by age since insert or idle time since last access."""

from __future__ import annotations

import param

from .base import CachePolicy

_DAY = 86400.0


class AgeBased(CachePolicy):
    """Serve an entry until it is ``max_age`` old or ``max_idle`` unused; optionally cap the count.

    Expired entries go when accessed and on ``Cache.sweep()``. Time comes from the cache's
    clock, so tests inject one instead of sleeping.

    >>> from vizcache import Cache
    >>> cache = Cache(AgeBased(max_age=60, max_idle=None), clock=lambda: 0.0)
    """

    checks_on_hit = True

    max_age = param.Number(
        3600.0, bounds=(0.001, 30 * _DAY), allow_None=True,
        doc="Seconds since insert after which an entry expires; unset for no age limit.",
    )
    max_idle = param.Number(
        600.0, bounds=(0.001, 30 * _DAY), allow_None=True,
        doc="Seconds since last access after which an entry expires; unset for no idle limit.",
    )
    max_entries = param.Integer(
        None, bounds=(1, 1_000_000), allow_None=True,
        doc="Most entries kept; the least recently used goes first. Unset for no cap.",
    )

    def _resolve(self) -> None:
        # is_fresh runs on every hit: keep param reads off it.
        self._max_age = self.max_age
        self._max_idle = self.max_idle
        self._max_entries = self.max_entries

    def is_fresh(self, entry, now: float) -> bool:
        if self._max_age is not None and now - entry.inserted > self._max_age:
            return False
        return self._max_idle is None or now - entry.last_access <= self._max_idle

    def sweep(self, cache) -> int:
        now = cache.clock()
        # Entries, not keys: one reloaded since this snapshot is a new entry and stays.
        expired = [e for e in cache.entry_objects() if not self.is_fresh(e, now)]
        return len(cache.evict_entries(expired, reason="expired"))

    def make_room(self, cache, key) -> None:
        self.sweep(cache)

    def after_admit(self, cache, entry, rss_after: int) -> None:
        if self._max_entries is not None:
            limit = self._max_entries
            cache.evict_until(lambda: len(cache.entry_objects()) <= limit, reason="max_entries", exclude=entry.key)
