"""Cache: one ``get_or_load`` path, single-flight loads, and a pluggable policy.

Design note. A request takes the lock once: a hit (built in :mod:`.cache_hit_path`) moves the
key to the LRU end, or for ``s3fifo``/``sieve`` bumps the entry's 2-bit counter, counts it and
reads the value, nothing else unless the policy checks freshness or counts hits itself. A miss
joins the key's flight if one is running (:class:`.LoadFlight`; a loader that asks for its own
key, directly or through another, raises instead of deadlocking), else leads it: the policy
makes room (:mod:`.cache_policy_calls`, under the room lock of :mod:`.cache_locks`), the loader
runs with no lock held, the policy admits or rejects, and eviction (:mod:`.cache_eviction`)
removes what must go. Everything that costs (RSS probes, size estimates, evictions, trace
writes, removal listeners) runs outside the lock, timed and counted; a value is read under it,
so no caller is ever handed another key's value or ``None``. Bookkeeping of a load is one
``try/finally``: whatever raises, the flight ends, the counters add up, and the key can be
loaded again. Read-only views live in :mod:`.cache_inspection`, the mapping API in
:mod:`.cache_mapping`, entries and flights in :mod:`.cache_entry`.
"""
from __future__ import annotations

import inspect
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from .cache_entry import Entry, Invalidation, LoadFlight, RecursiveLoadError, Sized
from .cache_eviction import CacheEviction
from .cache_hit_path import build_get_or_load
from .cache_inspection import CacheInspection
from .cache_locks import CacheLocks
from .cache_mapping import CacheMapping
from .cache_policy_calls import CachePolicyCalls
from .events import Counters, EventLog
from .memory import RSSProbe, ThrottledGC
from .orders import make_order
from .policies import CachePolicy, RSSThresholdLRU
from .trace import TraceRecorder

__all__ = ["Cache", "Entry", "Invalidation", "RecursiveLoadError", "Sized"]




class Cache(CachePolicyCalls, CacheEviction, CacheInspection, CacheLocks, CacheMapping):
    """A thread-safe, memory-aware cache whose eviction is decided by a policy.

    This module holds the request path (hits, single-flight misses, loads) and the
    mapping-style calls; what policies call, how eviction runs, and what observers read live
    in the three mixins, which share this class's lock and state.

    Parameters
    ----------
    policy : CachePolicy, optional
        Decides admission and eviction; default ``RSSThresholdLRU()``.
    clock : callable, optional
        Seconds, monotonic; expiry and load times read it. Set it here, never reassign it later:
        the hit path is built around it.
    rss_probe : callable, optional
        The process's RSS in bytes; default a fast ``/proc`` reader.
    trace : TraceRecorder or path, optional
        Record every access (JSON Lines) for ``vizcache simulate`` and ``vizcache compare``.
    event_log_size : int
        Newest loads, evictions and warnings kept for the monitor.
    on_removal : callable, optional
        ``(key, value, cause)`` for every entry that leaves, called outside the lock.

    Examples
    --------
    >>> from vizcache import Cache, AgeBased
    >>> cache = Cache(AgeBased(max_age=60))
    >>> cache.get_or_load("pzwav", lambda: [1, 2, 3])
    [1, 2, 3]
    >>> cache.stats()["misses"], "pzwav" in cache
    (1, True)
    """

    def __init__(
        self,
        policy: CachePolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rss_probe: Callable[[], int] | None = None,
        trace: TraceRecorder | str | Path | None = None,
        event_log_size: int = 1000,
        on_removal: Callable[[Hashable, Any, str], None] | None = None,
    ) -> None:
        self.clock = clock
        self._on_removal = on_removal
        #: per-function figures for stats()["functions"]; set by vizcache.cached on the caches its functions use
        self.describe_functions: Callable[[], list[dict]] | None = None
        self._removals: list[tuple] = []  # (key, value, cause) waiting for the listener
        self._probe = rss_probe if rss_probe is not None else RSSProbe()
        self.rss_method = getattr(self._probe, "method", "custom")
        self._trace = TraceRecorder(trace) if isinstance(trace, (str, Path)) else trace
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._inflight: dict[Hashable, LoadFlight] = {}
        self._waiting: dict[int, LoadFlight] = {}  # thread ident -> the flight it waits on
        self._sizes: OrderedDict[Hashable, int] = OrderedDict()  # reported size, else RSS delta of the load
        self._reclaimed: OrderedDict[Hashable, int] = OrderedDict()  # RSS given back when last evicted
        self._managed = 0
        self._loads_active = 0
        self._bytes_landed = 0  # sizes given to every load that ended: attribution of overlapped ones
        self._load_epoch = 0
        self._make_locks()  # _lock, _room, _evict_lock: see cache_locks for their order
        self._pausing: set[int] = set()  # threads whose load waits for room (wait_for_a_load)
        self._gc = ThrottledGC()
        self._counters = Counters()
        self.events = EventLog(event_log_size)
        self._warnings: deque[str] = deque(maxlen=20)
        self._warnings_total = 0
        self._last_logged_warning = float("-inf")
        self._unmanaged_warned = False
        self.policy = policy if policy is not None else RSSThresholdLRU()

    @property
    def policy(self) -> CachePolicy:
        """The policy deciding admission and eviction; replacing it rewires the hit path."""
        return self._policy

    @policy.setter
    def policy(self, policy: CachePolicy) -> None:
        old, watcher = getattr(self, "_policy", None), getattr(self, "_expiry_watcher", None)
        if watcher is not None:
            old.param.unwatch(watcher)
        with self._lock:
            self._policy = policy
            self._order = make_order(getattr(policy, "order", "lru"), self._entries)
            self._lru = self._order.name == "lru"
            self._on_hit = policy.on_hit if type(policy).on_hit is not CachePolicy.on_hit else None
            self._on_remove = policy.on_remove if type(policy).on_remove is not CachePolicy.on_remove else None
            self._rewire()
        watched = [name for name in ("max_age", "max_idle") if name in policy.param]
        # Setting an expiry later turns the freshness check on (after the policy's own watcher).
        self._expiry_watcher = policy.param.watch(self._rewire, watched) if watched else None

    def _rewire(self, *events) -> None:
        policy = self._policy
        self._is_fresh = policy.is_fresh if policy.checks_on_hit else None
        old, self._hit_path = getattr(self, "_hit_path", None), build_get_or_load(self)
        if old is not None:
            old.retire()
        if type(self).get_or_load is Cache.get_or_load:  # a subclass's override must stay reachable
            self.get_or_load = self._hit_path

    # -- the one path -------------------------------------------------------------------

    def get_or_load(self, key: Hashable, loader: Callable[[], Any], *, expected_bytes: int | None = None) -> Any:
        """Return the cached value for ``key``, or call ``loader()`` once to produce it.

        Concurrent callers of one key share one load. A loader that (directly or through
        other loads, in any thread) asks for its own key gets :class:`RecursiveLoadError`
        instead of a deadlock. A loader may return :class:`Sized` to report the value's size;
        ``expected_bytes`` says what the load will take *before* it runs (a file's own
        metadata, say; the load's peak where it exceeds what the value keeps), so a memory-bound
        policy makes room for it, or holds the load back while other loads fill the room; the
        larger of it and the key's known size is planned for.
        """
        # Shadowed on each instance by the closure cache_hit_path builds (see there why); this
        # body runs for a subclass that overrides get_or_load and calls super().
        return self._hit_path(key, loader, expected_bytes=expected_bytes)

    # -- mapping-style access ------------------------------------------------------------

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The cached value, or ``default``; never loads. A value found counts as a hit."""
        with self._lock:
            entry = self._entries.get(key)
            hit = entry is not None and self._serve_locked(entry, self.clock())
            value = entry.value if hit else default
        if hit and self._trace is not None:
            self._trace.record(key, True)
        return value

    def put(self, key: Hashable, value: Any, size: int | None = None) -> bool:
        """Store ``value`` under ``key`` through the policy (which may refuse it); True when kept.

        ``size`` is the value's size in bytes when known; nothing is measured around a put.
        A value already cached under ``key`` is replaced (its removal cause: ``replaced``).
        """
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise ValueError(f"size for {key!r} must be a whole number of bytes ≥ 0, not {size!r}")
        self._run_hook("make_room", self._policy.make_room, self, key)
        entry = Entry(key, value, self.clock(), 0.0, 0, size)
        rss = self.rss()
        admitted = self._run_hook("admit", self._policy.admit, self, entry, rss, default=False)
        with self._lock:
            self._counters.puts += 1
            if admitted:
                self._insert_locked(entry)
                if size is not None:
                    self._reclaimed.pop(key, None)
                    self._remember_size_locked(self._sizes, key, size)
            else:
                self._notify_locked(key, value, "rejected")
        self._dispatch_removals()
        if admitted:
            self._run_hook("after_admit", self._policy.after_admit, self, entry, rss)
        return bool(admitted)

    def pop(self, key: Hashable, *default: Any) -> Any:
        """Remove ``key`` and return its value (or ``default``; without one, KeyError)."""
        with self._lock:
            entry = self._entries.get(key)
            fresh = entry is not None and self._fresh_locked(entry, self.clock())
            if entry is not None:
                self._remove_locked(entry, "popped" if fresh else "expired")
        self._dispatch_removals()
        if fresh:
            return entry.value
        if default:
            return default[0]
        raise KeyError(key)

    def __iter__(self):
        """The keys of the live entries (a snapshot; expired entries left out)."""
        with self._lock:
            now = self.clock()
            return iter([k for k, e in self._entries.items() if self._fresh_locked(e, now)])

    def _serve_locked(self, entry: Entry, now: float) -> bool:
        """Count a hit on ``entry`` if the policy still calls it fresh; False means reload it."""
        if self._is_fresh is not None and not self._is_fresh(entry, now):
            return False
        if self._lru:
            self._entries.move_to_end(entry.key)
        elif entry.freq < 3:  # s3fifo: a hit only bumps a 2-bit counter (inlined: this is the hot path)
            entry.freq += 1
        if self._on_hit is not None:
            self._on_hit(entry)
        entry.hits += 1
        entry.last_access = now
        self._counters.hits += 1
        return True

    def _miss(self, key: Hashable, loader: Callable[[], Any], expected_bytes: int | None) -> Any:
        if inspect.iscoroutinefunction(loader):
            raise TypeError(f"the loader for {key!r} is a coroutine function; get_or_load calls loaders "
                            "synchronously: pass a plain function (for example one that runs asyncio.run)")
        me, leader = threading.get_ident(), False
        with self._lock:
            served = self._entries.get(key)
            if served is not None and not self._serve_locked(served, self.clock()):
                self._remove_locked(served, "expired")
                served = None
            if served is not None:
                value = served.value  # under the lock: see get_or_load
            else:
                flight = self._inflight.get(key)
                leader = flight is None
                if leader:
                    flight = self._inflight[key] = LoadFlight(me)
                else:
                    self._check_cycle_locked(key, flight, me)
                    self._counters.coalesced += 1
                    self._waiting[me] = flight
                self._counters.misses += 1
        self._dispatch_removals()  # an expired entry, if one went
        if served is None and not leader and self._pausing:
            self._room_changed()  # this thread's own load, if it leads one, now waits: not running
        if served is not None:  # loaded by another caller meanwhile
            if self._trace is not None:
                self._trace.record(key, True)
            return value
        if leader:
            return self._lead(key, loader, flight, expected_bytes)
        try:
            value = flight.result()
        except BaseException:
            if self._trace is not None:
                self._trace.record(key, False, failed=True)
            raise
        finally:
            with self._lock:
                self._waiting.pop(me, None)
        if self._trace is not None:
            self._trace.record(key, False)
        return value

    def _check_cycle_locked(self, key: Hashable, flight: LoadFlight, me: int) -> None:
        """Raise instead of waiting when the wait-for chain from ``flight`` leads back to this thread."""
        owner, hops = flight.owner, 0
        while owner != me:
            waited = self._waiting.get(owner)
            hops += 1
            if waited is None or hops > len(self._waiting):
                return
            owner = waited.owner
        self.events.add("load_error", key, detail="recursive load refused")
        if hops == 0:
            raise RecursiveLoadError(
                f"recursive load of {key!r}: its loader (or a policy hook it triggered) asked for {key!r} "
                "again in the same thread; a loader must not request its own key")
        raise RecursiveLoadError(
            f"load cycle on {key!r}: its load waits, through {hops} other thread(s), on a load that this "
            "thread is running; waiting would deadlock")

    def _lead(self, key: Hashable, loader: Callable[[], Any], flight: LoadFlight, expected_bytes: int | None) -> Any:
        """Run the load this thread leads; every exit ends the flight and counts one outcome."""
        outcome, entry = "failed", None
        try:
            with self._lock:
                flight.expected = self._planned_bytes_locked(key, expected_bytes)
                flight.guess = self._typical_locked() if flight.expected is None else None
            with self._room_to_decide() as holding_room:  # decided and reserved at once: the room is this load's from here
                self._run_hook("make_room", self._policy.make_room, self, key)
                rss_at_start = self._probe()
                with self._lock:
                    flight.loading, flight.rss_at_start = True, rss_at_start
                if holding_room:
                    self._wake_if_pending()
            entry, rss_after = self._measured_load(key, loader, flight)
            value = entry.value  # taken before admission: once admitted, an eviction may drop entry.value
            admitted = self._run_hook("admit", self._policy.admit, self, entry, rss_after, default=False)
            with self._lock:
                outcome = "discarded" if flight.invalidated else "admitted" if admitted else "rejected"
                self._count_load_locked(entry, outcome, rss_after)
            flight.value = value
        except BaseException as exc:
            flight.fail(exc)
            raise
        finally:
            with self._lock:
                flight.loading = False
                if self._inflight.get(key) is flight:
                    del self._inflight[key]
                if outcome == "failed":
                    self._counters.loads += 1
                    self._counters.load_failures += 1
                    exc = flight.error
                    self.events.add("load_error", key, detail=f"{type(exc).__name__}: {exc}" if exc else "")
            flight.done.set()
            if self._pausing:
                self._room_changed()
            if self._trace is not None:
                if entry is None:
                    self._trace.record(key, False, failed=True)
                else:
                    self._trace.record(key, False, entry.load_seconds, entry.rss_delta_bytes, entry.reported_bytes)
        self._dispatch_removals()
        if outcome == "admitted":
            self._run_hook("after_admit", self._policy.after_admit, self, entry, rss_after)
        return value

    def _measured_load(self, key: Hashable, loader: Callable[[], Any], flight: LoadFlight) -> tuple[Entry, int]:
        """Call the loader with RSS read around it (memory is allocated while loading, not inserting)."""
        with self._lock:
            self._loads_active += 1
            self._load_epoch += 1
            epoch, overlapped = self._load_epoch, self._loads_active > 1
            landed_before = self._bytes_landed
        try:
            rss_before = self.rss()
            start = time.perf_counter()
            result = loader()
            load_seconds = time.perf_counter() - start
            rss_after = self.rss()
            trim_above = self._policy.trim_above_bytes
            if trim_above is not None and rss_after > trim_above:
                self._trim_metered()
                rss_after = self.rss()
        finally:
            with self._lock:
                self._loads_active -= 1
                overlapped = overlapped or self._load_epoch != epoch  # another load began meanwhile
                landed_during = self._bytes_landed - landed_before
        reported = None
        if isinstance(result, Sized):
            result, reported = result.value, int(result.nbytes)
            if reported < 0:
                raise ValueError(f"the loader for {key!r} reported a negative size ({reported})")
        if inspect.isawaitable(result):
            getattr(result, "close", lambda: None)()
            raise TypeError(f"the loader for {key!r} returned an awaitable; get_or_load caches values, "
                            "not coroutines: pass a loader that returns the value itself")
        entry = Entry(key, result, self.clock(), load_seconds, max(0, rss_after - rss_before), reported, overlapped)
        entry.planned_bytes, entry.landed_during = flight.expected, landed_during
        return entry, rss_after

    def _count_load_locked(self, entry: Entry, outcome: str, rss_after: int) -> None:
        c = self._counters
        c.loads += 1
        c.bytes_loaded += entry.rss_delta_bytes
        c.load_seconds += entry.load_seconds
        if entry.reported_bytes is not None:
            self._reclaimed.pop(entry.key, None)  # a reported size beats any measurement
        if not entry.overlapped or entry.reported_bytes is not None:
            self._remember_size_locked(self._sizes, entry.key, entry.size_bytes)
        else:
            entry.size_bytes = self._attributed_bytes_locked(entry, rss_after)
            if entry.size_bytes and self._known_bytes_locked(entry.key) is None:
                # A guess to plan the next load with, until a load no other overlaps measures it.
                self._remember_size_locked(self._sizes, entry.key, entry.size_bytes)
        self._bytes_landed += entry.size_bytes
        if outcome == "admitted":
            self._insert_locked(entry)
            c.admits += 1
            self.events.add("load", entry.key, rss_after, entry.size_bytes, entry.load_seconds,
                            detail=self._size_detail(entry))
        else:
            c.rejections += 1
            self._notify_locked(entry.key, entry.value, "rejected")
            why = ("invalidated while loading: returned to its callers, not kept" if outcome == "discarded"
                   else "not kept: the policy rejected it")
            self.events.add("reject", entry.key, rss_after, entry.size_bytes, entry.load_seconds, detail=why)

    @staticmethod
    def _size_detail(entry: Entry) -> str:
        source = "reported by the loader" if entry.reported_bytes is not None else "RSS delta around the load"
        return f"size {source}" + ("; other loads overlapped it" if entry.overlapped else "")

    def _run_hook(self, name: str, hook: Callable, *args, default=None):
        """Call a policy hook; its errors are logged as the policy's, never raised to the caller."""
        try:
            return hook(*args)
        except Exception as exc:
            self.warn(f"policy {type(self._policy).__name__}.{name} failed: {type(exc).__name__}: {exc}")
            return default

    # -- what policies call (the contract in policies/contract.py) ------------------------

    def _insert_locked(self, entry: Entry) -> None:
        old = self._entries.get(entry.key)
        if old is not None:  # put back by another path meanwhile: the newer value wins
            self._remove_locked(old, "replaced")
        self._entries[entry.key] = entry
        self._managed += entry.size_bytes
        self._order.inserted(entry)

    # -- inspection and maintenance -----------------------------------------------------

    def sweep(self) -> int:
        """Ask the policy to drop stale entries now; returns how many went."""
        return self._policy.sweep(self)

    def invalidate(self, key: Hashable) -> Invalidation:
        """Forget ``key``. A load of it already running still returns its value but is not kept."""
        with self._lock:
            entry = self._entries.get(key)
            cached = entry is not None and self._remove_locked(entry, "invalidated")
            flight = self._inflight.get(key)
            if flight is not None:
                flight.invalidated = True
                self.events.add("evict", key, detail="invalidated while loading: that load will not be kept")
        if cached:
            entry.value = None
        self._dispatch_removals()
        return Invalidation(int(cached), int(flight is not None))

    def clear(self) -> Invalidation:
        """Forget every entry, and keep none of the loads now running (counters are kept)."""
        with self._lock:
            entries = list(self._entries.values())
            for entry in entries:
                self._remove_locked(entry, "cleared")
            for flight in self._inflight.values():
                flight.invalidated = True
            in_flight = len(self._inflight)
        self._dispatch_removals()
        return Invalidation(len(entries), in_flight)

    def _fresh_locked(self, entry: Entry, now: float) -> bool:
        return self._is_fresh is None or self._is_fresh(entry, now)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            entry = self._entries.get(key)
            return entry is not None and self._fresh_locked(entry, self.clock())

    def __len__(self) -> int:
        with self._lock:
            if self._is_fresh is None:
                return len(self._entries)
            now = self.clock()
            return sum(self._fresh_locked(e, now) for e in self._entries.values())





