"""Expiring: the optional expiry and entry cap every built-in bound can carry.

A bound (RSS threshold, size budget) decides how much memory the cache may hold; expiry
decides how long a value may be served. They compose: ``RSSThresholdLRU(limit="6GiB",
max_idle=600)`` is "RSS limit plus idle expiry" in one policy, as in a TOML ``[policy]`` table.
"""

from __future__ import annotations

import param

from ..orders import ORDERS
from .base import CachePolicy

_DAY = 86400.0


def order_parameter() -> param.Selector:
    """The ``order`` parameter of a bounded policy: which entry its bound evicts first."""
    return param.Selector(
        default="lru", objects=list(ORDERS), constant=True,
        doc='Which entry goes first when the bound evicts: "lru" (least recently used; best when '
            'recent use predicts reuse) or "s3fifo" (newcomers pass through a small FIFO unless hit '
            "again, so one-off loads and scans do not push out the hot set; its hit is cheaper) or \"sieve\" "
            "(one FIFO whose hand keeps entries hit since it last passed; a hit only marks the entry). "
            "Set when the policy is made.",
    )


class Expiring(CachePolicy):
    """Serve an entry until it is ``max_age`` old or ``max_idle`` unused; optionally cap the count.

    Expired entries go when accessed and on ``Cache.sweep()`` (and before each load). Time
    comes from the cache's clock, so tests inject one instead of sleeping.
    """

    max_age = param.Number(
        None, bounds=(0.001, 30 * _DAY), allow_None=True,
        doc="Seconds since insert after which an entry expires; unset for no age limit.",
    )
    max_idle = param.Number(
        None, bounds=(0.001, 30 * _DAY), allow_None=True,
        doc="Seconds since last access after which an entry expires; unset for no idle limit.",
    )
    max_entries = param.Integer(
        None, bounds=(1, 1_000_000), allow_None=True,
        doc="Most entries kept; the first in the eviction order goes first. Unset for no cap.",
    )

    @property
    def checks_on_hit(self) -> bool:  # a freshness check on the hit path only when there is expiry
        return self._max_age is not None or self._max_idle is not None

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
        if not self.checks_on_hit:
            return 0
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
