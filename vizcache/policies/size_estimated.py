"""SizeEstimatedLRU: the old viewer's approach, kept faithfully as the baseline to beat."""

from __future__ import annotations

from ..sizing import ESTIMATORS
from ..units import parse_bytes
from .base import ByteSize
from .expiry import Expiring, order_parameter
from .weigher import Weigher


class SizeEstimatedLRU(Expiring):
    """Keep the estimated total size under ``budget``, evicting least-recently-used entries.

    Like the old code it sizes a value before admitting it, sizes every entry again during
    clean-up after each admit, and again for statistics; every estimate is timed, so the
    comparison report shows what this accounting costs and how wrong ``getsizeof`` is.

    See Also
    --------
    RSSThresholdLRU : a memory bound that sizes no object.

    Examples
    --------
    >>> from vizcache import Cache, Sized
    >>> cache = Cache(SizeEstimatedLRU(budget="2KiB"))
    >>> for key in "abc":
    ...     _ = cache.get_or_load(key, lambda: Sized(key * 10, nbytes=1024))
    >>> sorted(cache)  # three 1 KiB values in a 2 KiB budget: the least recently used left
    ['b', 'c']
    >>> SizeEstimatedLRU(estimator="deep", budget="2GiB").budget_bytes == 2 * 2**30
    True
    """

    estimator = Weigher(
        "getsizeof", objects=list(ESTIMATORS),
        doc='How a value is sized: "getsizeof" (sys.getsizeof, shallow, as the old code did), '
            '"deep" (recursive: numpy nbytes, pandas memory_usage(deep=True), each object once), '
            '"nbytes" (array and frame buffers only), a callable value -> bytes, or in TOML '
            '"package.module:function". A size the loader reported (vizcache.Sized) wins over it.',
    )
    budget = ByteSize(
        "2GiB", bounds=(2**10, 2**50),
        doc='Total estimated bytes the cache may hold: bytes or a size string ("800MB", "1.5GiB").',
    )

    order = order_parameter()

    def _resolve(self) -> None:
        super()._resolve()
        self.budget_bytes = parse_bytes(self.budget)
        self._estimate = Weigher.resolve(self.estimator)

    def _size(self, cache, entry) -> int:
        if entry.reported_bytes is not None:
            return entry.reported_bytes
        return cache.estimate(entry.value, self._estimate)

    def _size_all(self, cache) -> int:
        total = 0
        for entry in cache.entry_objects():
            entry.estimated_bytes = self._size(cache, entry)
            total += entry.estimated_bytes
        return total

    def admit(self, cache, entry, rss_after: int) -> bool:
        entry.estimated_bytes = self._size(cache, entry)
        return entry.estimated_bytes <= self.budget_bytes

    def after_admit(self, cache, entry, rss_after: int) -> None:
        super().after_admit(cache, entry, rss_after)
        self._size_all(cache)  # the old clean-up re-sized every entry, then evicted by those sizes
        budget = self.budget_bytes

        def within_budget() -> bool:  # the live entries now: other threads evict and admit too
            return sum(e.estimated_bytes or 0 for e in cache.entry_objects()) <= budget

        cache.evict_until(within_budget, reason="budget", exclude=entry.key)

    def policy_stats(self, cache) -> dict:
        return {"budget_bytes": self.budget_bytes, "estimated_bytes": self._size_all(cache)}
