"""RSSThresholdLRU: bound the process's RSS, sizing no object."""

from __future__ import annotations

import time

import param

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

    Loads that run at once (many sessions, a partitioned catalog read in parallel) each need
    room before they start, decided and reserved in one step: a load plans for the key's last
    size (or the ``expected_bytes`` its caller gave) under high water, and with what the
    loads already running will still add, under the limit. When that room is held by running
    loads, or they already hold ``max_loading`` of the limit, the load pauses until one
    lands, at most ``max_pause`` seconds, as a dask worker pauses; then it evicts for what is
    left. A key never loaded and given no size pauses only under pressure (RSS above
    ``low_water`` with loads running). A value whose own reported size exceeds ``limit`` is
    handed to its caller, not kept, with a warning.

    Call :func:`vizcache.memory.prepare_process_memory` once at start-up (the viewer's server
    and ``vizcache compare``'s workers do): it tunes the process's allocator, as dask/distributed
    does for its workers, so freed memory leaves RSS at once. Otherwise a load's transient
    memory counts as held, and the policy evicts for memory nobody uses.

    See Also
    --------
    LegacyRSSManager : the old viewer's RSS fix, the baseline this policy is compared with.
    vizcache.memory.prepare_process_memory : what a process using this policy calls at start-up.

    Examples
    --------
    >>> policy = RSSThresholdLRU(limit="2GiB", high_water=0.8, low_water=0.6)
    >>> policy.high_bytes == int(0.8 * 2**30 * 2)
    True

    With a stand-in for the process's RSS, each value adding 100 MiB:

    >>> from vizcache import Cache
    >>> MiB = 2**20
    >>> rss = [600 * MiB]
    >>> cache = Cache(RSSThresholdLRU(limit=1000 * MiB, high_water=0.8, low_water=0.6), rss_probe=lambda: rss[0])
    >>> def load(name):
    ...     rss[0] += 100 * MiB
    ...     return name
    >>> for key in ("a", "b"):
    ...     _ = cache.get_or_load(key, lambda: load(key))
    >>> rss[0] == 800 * MiB and sorted(cache) == ["a", "b"]  # at high water, all kept
    True
    """

    order = order_parameter()
    max_loading = param.Number(
        0.25, bounds=(0.01, 1.0),
        doc="Share of limit that loads running at once may be expected to add; a load beyond it "
            "waits for one to land (one load always runs). Memory in flight is memory not caching.",
    )
    max_pause = param.Number(
        30.0, bounds=(0.0, 3600.0),
        doc="Seconds a load may wait for running loads to end when the room it needs is theirs; "
            "after that it loads anyway and admission decides. 0 never waits.",
    )

    def _resolve(self) -> None:
        super()._resolve()
        self.trim_above_bytes = self.high_bytes  # decisions from here on need RSS without freed memory
        self._max_pause = self.max_pause
        self._loading_bytes = int(self.max_loading * self.limit_bytes)

    def make_room(self, cache, key) -> None:
        super().make_room(cache, key)
        deadline = time.monotonic() + self._max_pause
        while not self._room_made(cache, key, cache.expected_bytes(key)):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not cache.wait_for_a_load(remaining):
                return  # nothing left to wait for: admission decides

    def _room_made(self, cache, key, planned: int | None) -> bool:
        """One try at room for ``key``'s load; False when the room is held by running loads."""
        running = cache.loads_in_progress(exclude=key)
        rss = cache.rss()
        pending = running.expected_bytes  # what they will still add (cache.loads_in_progress)
        if running.count and pending + (planned or cache.typical_bytes() or 0) > self._loading_bytes:
            return False  # loads in flight already hold their share of the limit: wait for one to land
        if planned is None:  # never loaded, no size given
            if running.count and rss + pending + (cache.typical_bytes() or 0) > self.low_bytes:
                return False  # under pressure: let the running loads land and show what they hold
            if rss > self.high_bytes:
                cache.evict_until(rss_target=self.low_bytes, reason="RSS above high water")
            return True
        # This load plans to stay under high water; the loads in flight may use the margin
        # between high water and the limit, so room held for them costs fewer cached entries.
        target = min(self.high_bytes - planned, self.limit_bytes - planned - pending)
        if rss <= target:
            return True
        floor = rss - cache.managed_bytes()  # RSS with every entry gone, as far as the cache can tell
        if floor + planned > self.limit_bytes:
            if running.count:
                return False  # some of that floor is the running loads': it may fit once they land
            cache.warn(f"{key!r} is expected to weigh {format_bytes(planned)} and cannot fit under the limit "
                       f"{format_bytes(self.limit_bytes)} even in an empty cache ({format_bytes(floor)} of RSS "
                       "is not the cache's): the cache is not flushed for it")
            return True
        if target < floor and running.count:
            return False  # the room is held by loads still running: wait for one to land
        cache.evict_until(rss_target=target, reason=f"room for {format_bytes(planned)}")
        return True

    def admit(self, cache, entry, rss_after: int) -> bool:
        if entry.reported_bytes is not None and entry.reported_bytes > self.limit_bytes:
            cache.warn(f"{entry.key!r} reports {format_bytes(entry.reported_bytes)}, more than the limit "
                       f"{format_bytes(self.limit_bytes)}: returned to its caller, not kept")
            return False
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
