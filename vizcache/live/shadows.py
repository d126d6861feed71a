"""Shadow policies: every request a cache sees also goes through the simulator's models of the other policies.

Each shadow is one of :mod:`vizcache.compare.simulate`'s models (the code ``vizcache simulate`` replays a
trace with), fed request by request from the cache's trace recorder, so a shadow's hit ratio on the
requests so far is what ``vizcache simulate`` gives for the recorded trace at the same budget. A
shadow holds keys and sizes only, never values.

Sizes are the ones the trace gives (``vizcache.compare.tracefile.object_sizes``): the size a loader
reported, else the RSS growth around the load (an attribution guess; such keys are counted in
``sizes_from["rss delta"]``). A request for a key whose size is not known yet (no load measured it) is
left out and counted, as ``vizcache simulate`` leaves such keys out. The ``getsizeof`` shadow weighs a
value as the old policy did: its reported size, else ``sys.getsizeof`` of the value when the cache
still holds it, else its known size (counted in ``estimates_from_size``).

Feeding never raises into the request path and never waits for another thread: a request is queued,
and whichever thread holds the shadows' lock feeds the queue; a shadow that raises is logged once
and stops.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import weakref
from collections import deque

from ..compare.simulate import make_model
from ..orders import ORDERS

log = logging.getLogger(__name__)

#: the labels ``vizcache compare`` uses -> (simulator model, its parameters)
BASE_SHADOWS = {"rss-lru": ("RSSThresholdLRU", {"order": "lru"}), "getsizeof": ("SizeEstimatedLRU", {}),
                "legacy-rss": ("LegacyRSSManager", {}), "lru": ("lru", {})}


def shadow_specs() -> dict[str, tuple[str, dict]]:
    """Every shadow the simulator can model: the four policies, and RSSThresholdLRU in each other eviction order it simulates."""
    specs = dict(BASE_SHADOWS)
    for order in ORDERS:
        if order == "lru":
            continue
        try:
            make_model("RSSThresholdLRU", 1, params={"order": order})
        except ValueError:  # an order the cache has and the simulator does not (yet) model
            continue
        specs[order] = ("RSSThresholdLRU", {"order": order})
    return specs


class Shadow:
    """One model at one budget, with the counts the monitor and the metrics read."""

    def __init__(self, label: str, model_name: str, params: dict, budget: int, estimates: dict, window_s: float,
                 max_windows: int) -> None:
        self.label, self.budget = label, budget
        self.model = make_model(model_name, budget, params=params, estimates=estimates)
        self.requests = self.over_budget = 0
        self.peak_excess = 0  # bytes above the budget at most, after a request
        self.windows: deque = deque(maxlen=max_windows)  # [start, requests, hits, over_budget, largest excess]
        self._window_s = window_s
        self.failed = False

    @property
    def hits(self) -> int:
        return self.requests - self.model.misses

    @property
    def hit_ratio(self) -> float | None:
        return self.hits / self.requests if self.requests else None

    @property
    def over_budget_share(self) -> float | None:
        return self.over_budget / self.requests if self.requests else None

    def feed(self, key, sizes: dict, now: float) -> None:
        model = self.model
        misses = model.misses
        model.feed((key,), sizes)
        excess = model.resident - self.budget
        self.requests += 1
        windows = self.windows
        if not windows or now - windows[-1][0] >= self._window_s:
            windows.append([now, 0, 0, 0, 0])
        window = windows[-1]
        window[1] += 1
        window[2] += model.misses == misses
        if excess > 0:
            self.over_budget += 1
            window[3] += 1
            window[4] = max(window[4], excess)
            self.peak_excess = max(self.peak_excess, excess)


class ShadowSet:
    """The shadows of one cache at one budget, fed from its trace recorder (see :func:`attach`)."""

    def __init__(self, budget: int, *, labels=None, estimate=None, window_s: float = 60.0, max_windows: int = 1440,
                 max_keys: int = 100_000, extra=()) -> None:
        if budget < 1:
            raise ValueError(f"shadow budget {budget!r}: give a number of bytes above 0")
        specs = shadow_specs()
        self.budget, self.started = budget, time.time()
        self.sizes: dict = {}  # key -> bytes, as object_sizes reads a trace
        self.rss_sized: set = set()  # keys whose size is an RSS delta so far
        self.estimates: dict = {}  # key -> what the getsizeof policy would have counted
        self.estimates_from_size = 0
        self.unsized = self.keys_refused = 0
        self.max_keys = max_keys
        self._estimate = estimate  # key -> sys.getsizeof of the cached value, or None
        self.shadows = [Shadow(label, *specs[label], budget, self.estimates, window_s, max_windows)
                        for label in (specs if labels is None else labels) if label in specs]
        self.extra = list(extra)  # more shadows fed the same requests, not reported as shadows (the curve's)
        self._pending: deque = deque()
        self._lock = threading.Lock()
        self.trace_path, self.trace_offset = None, 0  # the trace this set is fed from, and where this process's rows begin

    def offer(self, key, hit: bool, nbytes: int = 0, size: int | None = None, failed: bool = False) -> None:
        """Queue one request (the trace recorder's arguments) and feed what is queued unless another thread is."""
        self._pending.append((key, hit, nbytes, size, failed, time.time()))
        # Re-checked after each release: a row queued while another thread fed is fed by one of us.
        while self._pending and self._lock.acquire(blocking=False):
            try:
                self._drain()
            finally:
                self._lock.release()

    def drain(self) -> None:
        """Feed everything queued (a reader calls this before reading the figures)."""
        with self._lock:
            self._drain()

    def _drain(self) -> None:
        pending, sizes = self._pending, self.sizes
        while pending:
            key, hit, nbytes, size, failed, now = pending.popleft()
            if not self._sized(key, hit, nbytes, size, failed):
                self.unsized += 1
                continue
            for shadow in self.shadows + self.extra:
                if not shadow.failed:
                    try:
                        shadow.feed(key, sizes, now)
                    except Exception:
                        shadow.failed = True
                        log.exception("vizcache: shadow %s failed and stops; the cache and the other shadows go on", shadow.label)

    def _sized(self, key, hit: bool, nbytes: int, size: int | None, failed: bool) -> bool:
        """Record what this request says of its key's size (object_sizes' rule); whether the key has one."""
        known = key in self.sizes
        if not hit and not failed and (size is not None or (nbytes and not known)):
            if not known and len(self.sizes) >= self.max_keys:
                self.keys_refused += 1
                return False
            if size is not None and (not known or key in self.rss_sized):
                self.sizes[key] = size
                self.rss_sized.discard(key)
            elif not known:
                self.sizes[key] = nbytes
                self.rss_sized.add(key)
            if key not in self.estimates:
                self.estimates[key] = self._weigh(key, size)
            return True
        return known

    def _weigh(self, key, reported: int | None) -> int:
        if reported is not None:
            return reported  # a reported size wins over any estimate, as in SizeEstimatedLRU
        try:
            estimate = self._estimate(key) if self._estimate is not None else None
        except Exception:  # the value's own __sizeof__ raised: weigh it by its size
            estimate = None
        if estimate is None:
            self.estimates_from_size += 1
            return self.sizes[key]
        return estimate

    def snapshot(self) -> dict:
        """Every shadow's figures now, keys left out."""
        self.drain()
        with self._lock:
            return {"budget": self.budget, "started": self.started, "unsized_requests": self.unsized,
                    "keys": len(self.sizes), "keys_refused": self.keys_refused,
                    "sizes_from": {"reported": len(self.sizes) - len(self.rss_sized), "rss delta": len(self.rss_sized)},
                    "estimates_from_size": self.estimates_from_size,
                    "shadows": {s.label: {"requests": s.requests, "hits": s.hits, "hit_ratio": s.hit_ratio,
                                          "over_budget_share": s.over_budget_share, "peak_excess_bytes": s.peak_excess,
                                          "resident_bytes": s.model.resident, "failed": s.failed,
                                          "windows": [list(w) for w in s.windows]} for s in self.shadows},
                    **{e.label: e.snapshot() for e in self.extra}}


def cache_budget(cache) -> int | None:
    """The bytes the cache's policy gives its entries: a size budget, else high water less the memory the cache does not own now."""
    stats = cache.stats()
    policy = stats.policy_stats
    if policy.get("budget_bytes"):
        return int(policy["budget_bytes"])
    if policy.get("high_water_bytes"):
        return max(1, int(policy["high_water_bytes"]) - stats.unmanaged_bytes)
    return None


def policy_label(policy) -> str:
    """The shadow that models ``policy`` (what the curve is drawn for); rss-lru for a policy no shadow models."""
    name, order = type(policy).__name__, getattr(policy, "order", "lru")
    if name == "RSSThresholdLRU":
        return "rss-lru" if order == "lru" else order if order in shadow_specs() else "rss-lru"
    return {"SizeEstimatedLRU": "getsizeof", "LegacyRSSManager": "legacy-rss"}.get(name, "rss-lru")


def _getsizeof_in(cache):
    def estimate(key) -> int | None:
        for entry in cache.entry_objects():
            if entry.key == key:
                return sys.getsizeof(entry.value)
        return None
    return estimate


_attached: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # cache -> its shadows
_attach_lock = threading.Lock()


def attach(cache, budget: int | None = None, *, curve_rate: float = 1.0, **options) -> ShadowSet | None:
    """The cache's shadow set, created and hooked to its trace recorder on the first call; None without a trace or a budget.

    With it, the miss-ratio curve of the cache's own policy (:mod:`vizcache.live.curve`) at ``curve_rate``.

    The hook wraps the recorder instance's ``record``: every request the cache records (hits, loads,
    coalesced waits, failed loads) is offered to the shadows after the recorder has it.
    """
    with _attach_lock:
        shadows = _attached.get(cache)
        if shadows is not None:
            return shadows
        recorder = cache._trace
        budget = budget or cache_budget(cache)
        if recorder is None or budget is None:
            log.info("vizcache: no shadow policies: the cache has %s", "no trace" if recorder is None else "no memory budget")
            return None
        from .curve import Curve  # it builds on Shadow

        shadows = ShadowSet(budget, estimate=_getsizeof_in(cache), **options)
        # The curve of the cache's own policy; getsizeof's budget bounds its estimates, not memory: its curve is
        # flat wherever the estimates undercount, so a getsizeof cache gets the curve of rss-lru, the candidate.
        label = policy_label(cache.policy)
        shadows.extra.append(Curve(budget, shadows.estimates, policy="rss-lru" if label == "getsizeof" else label, rate=curve_rate))
        record, offer = recorder.record, shadows.offer

        def record_and_shadow(key, hit, load_s=0.0, nbytes=0, size=None, failed=False):
            record(key, hit, load_s, nbytes, size, failed)
            try:
                offer(key, hit, nbytes, size, failed)
            except Exception:  # never the caller's problem; a broken shadow set is logged once
                recorder.record = record
                log.exception("vizcache: the shadow policies failed and stop; the cache goes on")

        recorder.flush()  # the recorder appends to a file earlier servers wrote: note where this process's rows begin
        shadows.trace_path, shadows.trace_offset = recorder.path, recorder.path.stat().st_size if recorder.path.exists() else 0
        recorder.record = record_and_shadow
        _attached[cache] = shadows
        return shadows


def attached(cache) -> ShadowSet | None:
    """The shadow set :func:`attach` made for ``cache``, if any."""
    return _attached.get(cache)
