"""Cache: one ``get_or_load`` path, single-flight loads, and a pluggable policy.

The hit path takes the lock, moves the key to the LRU end and bumps two counters — nothing
else unless the policy asks to check freshness. Everything that costs (RSS probes, size
estimates, evictions, trace writes) happens outside the lock, through methods that time and
count it. Bookkeeping of a load is one ``try/finally``: whatever raises, the flight ends, the
counters add up, and the key can be loaded again.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from .cache_stats import CacheStats
from .events import Counters, EventLog, TraceRecorder
from .memory import RSSProbe, ThrottledGC, release_memory, trim_heap
from .orders import make_order
from .policies import CachePolicy, RSSThresholdLRU
from .policies.contract import Eviction
from .units import format_bytes

log = logging.getLogger(__name__)

# Remembered sizes of keys loaded before, so a policy can plan room for a reload.
_SIZE_MEMORY = 4096
# An eviction that gives back less than this share of the entry's size "did not show up in RSS".
_RECLAIM_SHORTFALL = 0.5
# Evictions in a row that give back nothing before the helper stops: the memory is not ours.
_STALLS_BEFORE_STOP = 2
# What a removal listener is told, by the reason the cache removed an entry.
_CAUSES = {"expired": "expired", "invalidated": "invalidated", "cleared": "invalidated", "popped": "invalidated",
           "replaced": "replaced"}


class Sized(NamedTuple):
    """What a loader returns to report its value's true size; the cache stores ``value`` only.

    >>> cache = Cache()
    >>> cache.get_or_load("a", lambda: Sized([1, 2], nbytes=16))
    [1, 2]
    """

    value: Any
    nbytes: int


class RecursiveLoadError(RuntimeError):
    """A load asked, directly or through other loads, for a key it is itself producing."""


class Entry:
    """One cached value and what the cache knows about it (times from the cache's clock)."""

    __slots__ = ("key", "value", "inserted", "last_access", "hits", "load_seconds",
                 "rss_delta_bytes", "reported_bytes", "overlapped", "estimated_bytes", "freq")

    def __init__(self, key, value, now: float, load_seconds: float, rss_delta_bytes: int,
                 reported_bytes: int | None = None, overlapped: bool = False) -> None:
        self.key = key
        self.value = value
        self.inserted = now
        self.last_access = now
        self.hits = 0
        self.load_seconds = load_seconds
        self.rss_delta_bytes = rss_delta_bytes
        self.reported_bytes = reported_bytes
        self.overlapped = overlapped
        self.estimated_bytes: int | None = None
        self.freq = 0  # hits counted by frequency-aware eviction orders

    @property
    def size_bytes(self) -> int:
        """The best size known: the loader's report, else the RSS delta around the load."""
        return self.reported_bytes if self.reported_bytes is not None else self.rss_delta_bytes


class _Flight:
    """A load in progress that other callers of the same key wait on."""

    __slots__ = ("done", "value", "error", "owner", "invalidated")

    def __init__(self, owner: int) -> None:
        self.done = threading.Event()
        self.value = None
        self.error: BaseException | None = None
        self.owner = owner  # thread ident of the leader, for cycle detection
        self.invalidated = False

    def result(self):
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value


@dataclass(frozen=True)
class Invalidation:
    """What ``invalidate``/``clear`` did: cached entries dropped, in-flight loads that will not be kept."""

    cached: int
    in_flight: int

    def __bool__(self) -> bool:
        return bool(self.cached or self.in_flight)


class Cache:
    """A thread-safe, memory-aware cache whose eviction is decided by a policy.

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
        self._removals: list[tuple] = []  # (key, value, cause) waiting for the listener
        self._probe = rss_probe if rss_probe is not None else RSSProbe()
        self.rss_method = getattr(self._probe, "method", "custom")
        self._trace = TraceRecorder(trace) if isinstance(trace, (str, Path)) else trace
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._inflight: dict[Hashable, _Flight] = {}
        self._waiting: dict[int, _Flight] = {}  # thread ident -> the flight it waits on
        self._sizes: OrderedDict[Hashable, int] = OrderedDict()  # reported size, else RSS delta of the load
        self._reclaimed: OrderedDict[Hashable, int] = OrderedDict()  # RSS given back when last evicted
        self._managed = 0
        self._loads_active = 0
        self._load_epoch = 0
        self._lock = threading.Lock()
        # One eviction batch at a time: two threads over target must not both evict for it.
        self._evict_lock = threading.RLock()
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

    # -- the one path -------------------------------------------------------------------

    def get_or_load(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        """Return the cached value for ``key``, or call ``loader()`` once to produce it.

        Concurrent callers of one key share one load. A loader that (directly or through
        other loads, in any thread) asks for its own key gets :class:`RecursiveLoadError`
        instead of a deadlock. A loader may return :class:`Sized` to report the value's size.
        """
        with self._lock:
            entry = self._entries.get(key)
            hit = entry is not None and self._serve_locked(entry, self.clock())
        if not hit:
            return self._miss(key, loader)
        if self._trace is not None:
            self._trace.record(key, True)
        return entry.value

    # -- mapping-style access ------------------------------------------------------------

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The cached value, or ``default``; never loads. A value found counts as a hit."""
        with self._lock:
            entry = self._entries.get(key)
            hit = entry is not None and self._serve_locked(entry, self.clock())
        if not hit:
            return default
        if self._trace is not None:
            self._trace.record(key, True)
        return entry.value

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

    def _miss(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        if inspect.iscoroutinefunction(loader):
            raise TypeError(f"the loader for {key!r} is a coroutine function; get_or_load calls loaders "
                            "synchronously: pass a plain function (for example one that runs asyncio.run)")
        me = threading.get_ident()
        with self._lock:
            served = self._entries.get(key)
            if served is not None and not self._serve_locked(served, self.clock()):
                self._remove_locked(served, "expired")
                served = None
            if served is None:
                flight = self._inflight.get(key)
                leader = flight is None
                if leader:
                    flight = self._inflight[key] = _Flight(me)
                else:
                    self._check_cycle_locked(key, flight, me)
                    self._counters.coalesced += 1
                    self._waiting[me] = flight
                self._counters.misses += 1
        self._dispatch_removals()  # an expired entry, if one went
        if served is not None:  # loaded by another caller meanwhile
            if self._trace is not None:
                self._trace.record(key, True)
            return served.value
        if leader:
            return self._lead(key, loader, flight)
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

    def _check_cycle_locked(self, key: Hashable, flight: _Flight, me: int) -> None:
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

    def _lead(self, key: Hashable, loader: Callable[[], Any], flight: _Flight) -> Any:
        """Run the load this thread leads; every exit ends the flight and counts one outcome."""
        outcome, entry = "failed", None
        try:
            self._run_hook("make_room", self._policy.make_room, self, key)
            entry, rss_after = self._measured_load(key, loader)
            admitted = self._run_hook("admit", self._policy.admit, self, entry, rss_after, default=False)
            with self._lock:
                outcome = "discarded" if flight.invalidated else "admitted" if admitted else "rejected"
                self._count_load_locked(entry, outcome, rss_after)
            flight.value = entry.value
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                if self._inflight.get(key) is flight:
                    del self._inflight[key]
                if outcome == "failed":
                    self._counters.loads += 1
                    self._counters.load_failures += 1
                    exc = flight.error
                    self.events.add("load_error", key, detail=f"{type(exc).__name__}: {exc}" if exc else "")
            flight.done.set()
            if self._trace is not None:
                if entry is None:
                    self._trace.record(key, False, failed=True)
                else:
                    self._trace.record(key, False, entry.load_seconds, entry.rss_delta_bytes, entry.reported_bytes)
        self._dispatch_removals()
        if outcome == "admitted":
            self._run_hook("after_admit", self._policy.after_admit, self, entry, rss_after)
        return entry.value

    def _measured_load(self, key: Hashable, loader: Callable[[], Any]) -> tuple[Entry, int]:
        """Call the loader with RSS read around it (memory is allocated while loading, not inserting)."""
        with self._lock:
            self._loads_active += 1
            self._load_epoch += 1
            epoch, overlapped = self._load_epoch, self._loads_active > 1
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
        return entry, rss_after

    def _trim_metered(self) -> None:
        # Memory freed since the last trim (a load's read buffers and conversions: 4-5x a Parquet
        # catalog's size in pandas) sits in the allocator's arenas and still counts in RSS. Give it
        # back before deciding anything from RSS. It costs about as much as there is to return.
        start = time.perf_counter()
        trim_heap()
        elapsed = time.perf_counter() - start
        with self._lock:
            self._counters.reclaim_seconds += elapsed

    def _count_load_locked(self, entry: Entry, outcome: str, rss_after: int) -> None:
        c = self._counters
        c.loads += 1
        c.bytes_loaded += entry.rss_delta_bytes
        c.load_seconds += entry.load_seconds
        if entry.reported_bytes is not None:
            self._reclaimed.pop(entry.key, None)  # a reported size beats any measurement
        if not entry.overlapped or entry.reported_bytes is not None:
            self._remember_size_locked(self._sizes, entry.key, entry.size_bytes)
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

    def rss(self) -> int:
        """Process RSS in bytes; timed and counted as policy overhead."""
        start = time.perf_counter()
        rss = self._probe()
        elapsed = time.perf_counter() - start
        with self._lock:
            self._counters.probe_calls += 1
            self._counters.probe_seconds += elapsed
        return rss

    def rss_unmetered(self) -> int:
        """Process RSS for observers (stats, monitors): not counted as policy overhead."""
        return self._probe()

    def estimate(self, value: Any, estimator: Callable[[Any], int]) -> int:
        """Size ``value`` with ``estimator``; timed and counted as policy overhead."""
        start = time.perf_counter()
        nbytes = int(estimator(value))
        elapsed = time.perf_counter() - start
        with self._lock:
            self._counters.sizing_calls += 1
            self._counters.sizing_seconds += elapsed
        return nbytes

    def entry_objects(self) -> list[Entry]:
        """A snapshot of the live entries, in eviction order (least recently used first for LRU)."""
        with self._lock:
            return list(self._order.in_order())

    def expected_bytes(self, key: Hashable) -> int | None:
        """What ``key`` is expected to hold once loaded, or None if never seen: the size its loader
        reported, else the RSS its last eviction gave back, else the RSS delta of its last load
        that no other load overlapped (which also counts the load's transient memory)."""
        with self._lock:
            reclaimed = self._reclaimed.get(key)
            return reclaimed if reclaimed is not None else self._sizes.get(key)

    @staticmethod
    def _remember_size_locked(sizes: OrderedDict, key: Hashable, nbytes: int) -> None:
        sizes[key] = nbytes
        sizes.move_to_end(key)
        if len(sizes) > _SIZE_MEMORY:
            sizes.popitem(last=False)

    def collect_garbage(self) -> None:
        """A full ``gc.collect()`` and heap trim, timed and counted as reclaim overhead."""
        start = time.perf_counter()
        release_memory()
        elapsed = time.perf_counter() - start
        with self._lock:
            self._counters.reclaim_seconds += elapsed

    def managed_bytes(self) -> int:
        """The sum of the entries' best-known sizes: the memory the cache can account for."""
        return self._managed

    def evict_entries(self, entries: Iterable[Entry], reason: str) -> list[Eviction]:
        """Evict exactly these entries; any already gone, or replaced by a reload, is skipped."""
        with self._evict_lock:
            evictions = []
            start = time.perf_counter()
            for entry in entries:
                with self._lock:
                    removed = self._remove_locked(entry, reason)
                if removed:
                    entry.value = None  # drop our reference now, not when the Entry object goes
                    evictions.append(Eviction(entry.key, entry.size_bytes, entry.estimated_bytes, None, None))
            self._dispatch_removals()  # the listener may hold the last reference
            released = time.perf_counter() - start
            with self._lock:
                self._counters.release_seconds += released
        return evictions

    def evict_until(
        self,
        done: Callable[[], bool] | None = None,
        *,
        rss_target: int | None = None,
        reason: str,
        exclude: Hashable | None = None,
    ) -> list[Eviction]:
        """The one eviction loop: least recently used first, skipping ``exclude``.

        Stops when ``done()`` is true, or — given ``rss_target`` — when RSS is at or below it.
        In RSS mode each eviction drops the value and re-reads RSS; only when what it freed does
        not show up does it trim the heap, and only when even that does not show it run a full
        collection, at most once per batch and throttled. When evictions stop giving memory
        back, it stops and keeps the rest: the memory above target is not the cache's, and
        flushing hot entries would not help.
        """
        if (done is None) == (rss_target is None):
            raise TypeError("evict_until takes exactly one of done= and rss_target=")
        with self._evict_lock:
            if done is not None:
                return self._evict_while(lambda: not done(), reason, exclude)
            return self._evict_to_rss(rss_target, reason, exclude)

    def _next_victim(self, exclude: Hashable | None) -> Entry | None:
        with self._lock:
            return self._order.victim(exclude)

    def _evict_while(self, over: Callable[[], bool], reason: str, exclude) -> list[Eviction]:
        evictions = []
        while over():
            victim = self._next_victim(exclude)
            if victim is None:
                break
            evictions += self.evict_entries([victim], reason)
        return evictions

    def _evict_to_rss(self, target: int, reason: str, exclude) -> list[Eviction]:
        evictions: list[Eviction] = []
        self._trim_metered()  # what is merely freed goes first: it may be all that is needed
        rss = self.rss()
        collected, stalls = False, 0
        while rss > target:
            if rss - self._managed > target:
                # Even an empty cache would stay above target: flushing the hot entries cannot help.
                self._warn_unmanaged(rss, target, "more than that is not the cache's memory")
                break
            victim = self._next_victim(exclude)
            if victim is None:
                self._warn_unmanaged(rss, target, "nothing is left to evict")
                break
            expected = self.expected_bytes(victim.key) or victim.size_bytes
            released = self._counters.release_seconds  # only evict_entries adds to it, under the lock we hold
            if not self.evict_entries([victim], reason):
                continue  # another thread took it first
            released = self._counters.release_seconds - released
            start = time.perf_counter()  # dropping the value is release time, not reclaim overhead
            rss_after = self.rss()
            if rss - rss_after < _RECLAIM_SHORTFALL * expected:
                # Large buffers (arrays, Arrow columns) are unmapped as they go; small objects
                # free into the allocator's arenas, and only a trim hands those back.
                trim_heap()
                rss_after = self.rss()
            if not collected and rss - rss_after < _RECLAIM_SHORTFALL * expected:
                # Freed memory did not show up: the value may sit in a reference cycle.
                collected = self._gc.collect()
                if collected:
                    trim_heap()
                    rss_after = self.rss()
            elapsed = time.perf_counter() - start
            reclaimed = rss - rss_after  # may be negative: other threads allocate too
            stalls = stalls + 1 if expected >= 2**20 and reclaimed < expected / 4 else 0
            with self._lock:
                self._counters.reclaim_seconds += elapsed
                self._counters.bytes_reclaimed += max(0, reclaimed)
                if victim.reported_bytes is None and reclaimed >= 0 and self._loads_active == 0:
                    # What RSS gave back is what the value held once its load's transient memory
                    # (read buffers, conversions) was gone: a better guess for its next load.
                    self._remember_size_locked(self._reclaimed, victim.key, reclaimed)
            self.events.add("reclaim", victim.key, rss_after, reclaimed, released + elapsed,
                            detail=f"RSS given back after evicting: {format_bytes(reclaimed)}"
                                   + ("; with a full collection" if collected else ""))
            evictions.append(Eviction(victim.key, expected, victim.estimated_bytes, reclaimed, rss_after))
            rss = rss_after
            if rss > target and stalls >= _STALLS_BEFORE_STOP:
                self._warn_unmanaged(rss, target, f"the last {stalls} evictions gave back almost nothing")
                break
        else:
            self._unmanaged_warned = False
        return evictions

    def _warn_unmanaged(self, rss: int, target: int, why: str) -> None:
        if self._unmanaged_warned:
            return
        self._unmanaged_warned = True
        managed = self.managed_bytes()
        self.warn(f"RSS {format_bytes(rss)} stays above the target {format_bytes(target)}: {why}. "
                  f"The cache accounts for {format_bytes(managed)}; the other {format_bytes(max(0, rss - managed))} "
                  f"is not the cache's (sessions, libraries, a leak), so the {len(self)} remaining entries are kept")

    def _insert_locked(self, entry: Entry) -> None:
        old = self._entries.get(entry.key)
        if old is not None:  # put back by another path meanwhile: the newer value wins
            self._remove_locked(old, "replaced")
        self._entries[entry.key] = entry
        self._managed += entry.size_bytes
        self._order.inserted(entry)

    def _call_policy_locked(self, hook: Callable, *args) -> None:
        try:
            hook(*args)
        except Exception as exc:  # a plugin's bookkeeping bug must not break the cache's
            log.warning("vizcache: policy hook %s failed: %s: %s", getattr(hook, "__name__", hook),
                        type(exc).__name__, exc)

    def _notify_locked(self, key: Hashable, value: Any, cause: str) -> None:
        if self._on_removal is not None:
            self._removals.append((key, value, cause))

    def _dispatch_removals(self) -> None:
        """Tell the removal listener, outside the lock; its errors are logged, never raised."""
        if self._on_removal is None or not self._removals:
            return
        with self._lock:
            removals, self._removals = self._removals, []
        for key, value, cause in removals:
            try:
                self._on_removal(key, value, cause)
            except Exception:
                log.exception("vizcache: the removal listener failed for %r (%s)", key, cause)

    def _remove_locked(self, entry: Entry, reason: str) -> bool:
        """Remove ``entry`` if it is still the live one for its key; count and log why."""
        if self._entries.get(entry.key) is not entry:
            return False
        del self._entries[entry.key]
        self._managed -= entry.size_bytes
        self._order.removed(entry)
        cause = _CAUSES.get(reason, "evicted")
        if self._on_remove is not None:
            self._call_policy_locked(self._on_remove, entry, cause)
        self._notify_locked(entry.key, entry.value, cause)
        if reason == "expired":
            self._counters.expirations += 1
        elif reason not in ("invalidated", "cleared", "popped", "replaced"):
            self._counters.evictions += 1
        kind = "expire" if reason == "expired" else "evict"
        self.events.add(kind, entry.key, None, entry.size_bytes, None, detail=reason)
        return True

    def warn(self, message: str) -> None:
        """Record a warning in stats and the event log; log it at most every 30 s so it cannot flood."""
        with self._lock:
            self._warnings.append(message)
            self._warnings_total += 1
            self.events.add("warning", "", detail=message)
            now = time.monotonic()
            should_log = now - self._last_logged_warning >= 30
            if should_log:
                self._last_logged_warning = now
        if should_log:
            log.warning("vizcache: %s", message)

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

    def entries(self) -> list[dict]:
        """The entries, least recently used first, with ages in seconds and sizes in bytes."""
        now, wall = self.clock(), time.time()
        with self._lock:
            snapshot = list(self._entries.values())
        return [
            {
                "key": e.key,
                "inserted": wall - (now - e.inserted),
                "last_access": wall - (now - e.last_access),
                "age_s": now - e.inserted,
                "idle_s": now - e.last_access,
                "hits": e.hits,
                "load_seconds": e.load_seconds,
                "rss_delta_bytes": e.rss_delta_bytes,
                "reported_bytes": e.reported_bytes,
                "overlapped": e.overlapped,
                "estimated_bytes": e.estimated_bytes,
            }
            for e in snapshot
        ]

    def counters(self) -> dict:
        """The raw counters only: cheap, and without the policy's own (possibly costly) figures."""
        with self._lock:
            return self._counters.as_dict()

    def stats(self) -> CacheStats:
        """A typed snapshot: counters, ratios, memory and overhead, and the policy's own figures
        (computed by the policy: the old size-estimating one re-sizes every entry here)."""
        policy_stats = dict(self._policy.policy_stats(self))
        rss = self.rss_unmetered()
        with self._lock:
            counters = self._counters.as_dict()
            n = len(self._entries)
            managed = self._managed
            warnings = list(self._warnings)
            warnings_total = self._warnings_total
        requests = counters["hits"] + counters["misses"]
        trace = self._trace
        return CacheStats(
            **counters,
            policy=type(self._policy).__name__,
            params=self._policy.settings(),
            requests=requests,
            hit_ratio=counters["hits"] / requests if requests else 0.0,
            entries=n,
            managed_bytes=managed,
            unmanaged_bytes=max(0, rss - managed),
            rss=rss,
            rss_method=self.rss_method,
            overhead_seconds=counters["probe_seconds"] + counters["sizing_seconds"] + counters["reclaim_seconds"],
            warnings_total=warnings_total,
            warnings=warnings,
            trace_rows_lost=trace.lost if trace is not None else 0,
            policy_stats=policy_stats,
        )

    def flush_trace(self) -> None:
        """Write buffered trace rows to disk now."""
        if self._trace is not None:
            self._trace.flush()

    def close(self) -> None:
        """Flush and close the trace, if one is recorded."""
        if self._trace is not None:
            self._trace.close()
