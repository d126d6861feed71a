"""Simulation: replay a request sequence through models of the policies, without loading anything.

Every model takes the experiment's one ``budget`` (bytes of cache memory above the baseline)
and derives its parameters exactly as a real run does (``worker.derive_params``):

* ``lru`` — a plain LRU whose capacity is the budget in bytes, objects sized as the trace says
  (what libCacheSim's LRU does; an object bigger than the whole budget is not cached);
* ``s3fifo`` and ``sieve`` — plain byte-capacity S3-FIFO and SIEVE step for step as libCacheSim
  runs them (:mod:`.models`; equal to its Python binding, see tests/compare/test_simulate_libcachesim.py);
* ``SizeEstimatedLRU`` — LRU on *estimated* sizes (getsizeof's estimates undercount, so it keeps
  more than the budget in real memory);
* ``RSSThresholdLRU`` and ``LegacyRSSManager`` — RSS = baseline + the true sizes of what is
  cached, with their water marks at the same places as in the real runs;
* ``AgeBased`` — expiry on the requests' own timestamps (it has no memory bound).

``SizeEstimatedLRU`` and ``RSSThresholdLRU`` take the policy's ``order`` (``"lru"``, ``"s3fifo"`` or
``"sieve"``); the s3fifo and sieve models run vizcache's own orders (:mod:`vizcache.orders`), called
in the same sequence as the real cache calls them, so simulated and real victims are the same.
Each returns hit ratio, byte hit ratio and peak bytes above the baseline.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

import numpy as np

from ..orders import ORDERS, make_order
from ..policies import available_policies
from . import models, reference
from .worker import derive_params

MODELS = ("lru", "s3fifo", "sieve", "SizeEstimatedLRU", "RSSThresholdLRU", "LegacyRSSManager", "AgeBased")


def _result(keys: list, sizes: dict, misses: int, miss_bytes: int, peak: int) -> dict:
    n = len(keys)
    all_bytes = sum(sizes[k] * c for k, c in Counter(keys).items())
    return {"hit_ratio": (n - misses) / n if n else 0.0, "byte_hit_ratio": (all_bytes - miss_bytes) / all_bytes if all_bytes else 0.0,
            "peak_bytes": int(peak)}


# The models' loops are written for speed (>= 1M requests/s): the hit path is one dict test and one
# move (or counter bump); hits and hit bytes are what the misses leave over.


class _LRUQueue:
    """Cached keys, least recently used first; each holds (true size, weight)."""

    def __init__(self) -> None:
        self.items: OrderedDict = OrderedDict()
        self.hit = self.items.move_to_end

    def add(self, key, size: int, weight: int) -> None:
        self.items[key] = (size, weight)

    def pop(self, exclude=None) -> tuple[int, int] | None:
        """Remove the next victim (never ``exclude``); its (true size, weight), or None."""
        for key in self.items:
            if key != exclude:
                return self.items.pop(key)
        return None


class _Weighed:
    """What an eviction order reads of a cache entry."""

    __slots__ = ("key", "size_bytes", "estimated_bytes", "freq")

    def __init__(self, key, size: int, weight: int) -> None:
        self.key, self.size_bytes, self.estimated_bytes, self.freq = key, size, weight, 0


class _OrderQueue:
    """The cache's own eviction order (S3-FIFO, SIEVE) over model entries; a hit bumps a 2-bit counter as Cache does."""

    def __init__(self, order: str) -> None:
        self.items: dict = {}
        self._order = make_order(order, OrderedDict())

    def hit(self, key) -> None:
        entry = self.items[key]
        if entry.freq < 3:
            entry.freq += 1

    def add(self, key, size: int, weight: int) -> None:
        entry = self.items[key] = _Weighed(key, size, weight)
        self._order.inserted(entry)

    def pop(self, exclude=None) -> tuple[int, int] | None:
        victim = self._order.victim(exclude)
        if victim is None:
            return None
        self._order.removed(victim)
        del self.items[victim.key]
        return victim.size_bytes, victim.estimated_bytes


def _queue(order: str):
    if order == "lru":
        return _LRUQueue()
    if order in ORDERS:
        return _OrderQueue(order)
    raise ValueError(f"no simulation of eviction order {order!r}; orders: {', '.join(ORDERS)}")


class Model:
    """A model's state between requests: ``feed`` takes the next requests, so a whole-trace replay and a
    live shadow (``vizcache.live``) run the same code. ``resident`` is the true bytes it holds now."""

    resident = peak = misses = miss_bytes = 0

    def result(self, keys: list, sizes: dict) -> dict:
        return _result(keys, sizes, self.misses, self.miss_bytes, self.peak)


class LRUModel(Model):
    """Plain LRU on byte capacity: admit, then evict least recently used until the total fits."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.cached = capacity, OrderedDict()

    def feed(self, keys, sizes) -> None:
        cache, capacity = self.cached, self.capacity
        move, pop = cache.move_to_end, cache.popitem
        used, peak, misses, miss_bytes = self.resident, self.peak, self.misses, self.miss_bytes
        for key in keys:
            if key in cache:
                move(key)
                continue
            size = sizes[key]
            misses += 1
            miss_bytes += size
            if size > capacity:
                continue
            cache[key] = size
            used += size
            while used > capacity:
                used -= pop(last=False)[1]
            if used > peak:
                peak = used
        self.resident, self.peak, self.misses, self.miss_bytes = used, peak, misses, miss_bytes


class SizeEstimatedModel(Model):
    """SizeEstimatedLRU: admit when the estimate fits the budget, then evict others until the estimates fit."""

    def __init__(self, budget: int, estimates, order: str = "lru") -> None:
        self.budget, self.estimates, self.queue, self.accounted = budget, estimates, _queue(order), 0
        self.cached = self.queue.items  # key -> (true size, estimate)

    def feed(self, keys, sizes) -> None:
        cached, hit, add, pop = self.cached, self.queue.hit, self.queue.add, self.queue.pop
        budget, estimates = self.budget, self.estimates
        accounted, resident, peak, misses, miss_bytes = self.accounted, self.resident, self.peak, self.misses, self.miss_bytes
        for key in keys:
            if key in cached:
                hit(key)
                continue
            size = sizes[key]
            misses += 1
            miss_bytes += size
            if resident + size > peak:
                peak = resident + size  # the value is in memory while it is sized
            estimate = estimates[key]
            if estimate > budget:
                continue
            add(key, size, estimate)
            accounted += estimate
            resident += size
            while accounted > budget:
                gone = pop(key)  # never the new key
                if gone is None:
                    break
                resident -= gone[0]
                accounted -= gone[1]
        self.accounted, self.resident, self.peak, self.misses, self.miss_bytes = accounted, resident, peak, misses, miss_bytes


def _marks(name: str, params: dict, baseline: int, budget: int) -> tuple[int, int, int]:
    table = derive_params({"name": name, **params}, baseline, budget)
    limit = table["limit"]
    high = table.get("high_water", available_policies()[name].param["high_water"].default)
    return limit, int(limit * high), int(limit * table["low_water"])


class RSSThresholdModel(Model):
    """RSSThresholdLRU: make room for a known key's last size below high water; unknown keys evict to low water."""

    def __init__(self, budget: int, params: dict, baseline: int) -> None:
        self.limit, self.high, self.low = _marks("RSSThresholdLRU", params, baseline, budget)
        self.baseline, self.queue, self.known = baseline, _queue(params.get("order", "lru")), {}
        self.cached = self.queue.items

    def feed(self, keys, sizes) -> None:
        cached, hit, add, pop, known = self.cached, self.queue.hit, self.queue.add, self.queue.pop, self.known
        baseline, limit, high, low = self.baseline, self.limit, self.high, self.low
        resident, peak, misses, miss_bytes = self.resident, self.peak, self.misses, self.miss_bytes

        def evict_to(target: int, exclude=None) -> None:
            nonlocal resident
            while baseline + resident > target:
                gone = pop(exclude)
                if gone is None:
                    return
                resident -= gone[0]

        for key in keys:
            if key in cached:
                hit(key)
                continue
            size = sizes[key]
            misses += 1
            miss_bytes += size
            rss = baseline + resident
            expected = known.get(key)
            if expected is None:
                if rss > high:
                    evict_to(low)
            elif rss + expected > high and baseline + expected <= limit:
                evict_to(high - expected)
            known[key] = size
            rss_after = baseline + resident + size
            if resident + size > peak:
                peak = resident + size
            if rss_after > limit:
                if rss_after - resident > limit:
                    continue  # cannot fit even in an empty cache: rejected
                evict_to(high - size)
                if baseline + resident + size > limit:
                    continue
            add(key, size, size)
            resident += size
            if rss_after > high:
                evict_to(high, exclude=key)  # the new key is never its own victim
        self.resident, self.peak, self.misses, self.miss_bytes = resident, peak, misses, miss_bytes


class LegacyRSSModel(Model):
    """LegacyRSSManager: above high water, delete LRU entries until below low; keep a new value only below high."""

    def __init__(self, budget: int, params: dict, baseline: int) -> None:
        _, self.high, self.low = _marks("LegacyRSSManager", params, baseline, budget)
        self.baseline, self.cached = baseline, OrderedDict()

    def feed(self, keys, sizes) -> None:
        cache, baseline, high, low = self.cached, self.baseline, self.high, self.low
        move, pop = cache.move_to_end, cache.popitem
        resident, peak, misses, miss_bytes = self.resident, self.peak, self.misses, self.miss_bytes
        for key in keys:
            if key in cache:
                move(key)
                continue
            size = sizes[key]
            misses += 1
            miss_bytes += size
            if baseline + resident > high:
                while cache and baseline + resident >= low:
                    resident -= pop(last=False)[1]
            if resident + size > peak:
                peak = resident + size
            if baseline + resident + size < high:
                cache[key] = size
                resident += size
        self.resident, self.peak, self.misses, self.miss_bytes = resident, peak, misses, miss_bytes


def make_model(name: str, budget: int, *, params: dict | None = None, estimates=None, baseline: int = 0) -> Model:
    """A fresh model of policy ``name`` at ``budget``; ``estimates`` (key -> bytes) only for SizeEstimatedLRU."""
    params = params or {}
    if name == "lru":
        return LRUModel(budget)
    if name == "SizeEstimatedLRU":
        return SizeEstimatedModel(budget, estimates, params.get("order", "lru"))
    if name == "RSSThresholdLRU":
        return RSSThresholdModel(budget, params, baseline)
    if name == "LegacyRSSManager":
        return LegacyRSSModel(budget, params, baseline)
    raise ValueError(f"no simulation model {name!r}; models: {', '.join(MODELS)}")


def _replay(m: Model, keys: list, sizes: dict) -> dict:
    m.feed(keys, sizes)
    return m.result(keys, sizes)


def lru(keys: list, sizes: dict, capacity: int) -> dict:
    return _replay(LRUModel(capacity), keys, sizes)


def size_estimated(keys: list, sizes: dict, estimates: dict, budget: int, order: str = "lru") -> dict:
    return _replay(SizeEstimatedModel(budget, estimates, order), keys, sizes)


def rss_threshold(keys: list, sizes: dict, budget: int, params: dict, baseline: int) -> dict:
    return _replay(RSSThresholdModel(budget, params, baseline), keys, sizes)


def legacy_rss(keys: list, sizes: dict, budget: int, params: dict, baseline: int) -> dict:
    return _replay(LegacyRSSModel(budget, params, baseline), keys, sizes)


def age_based(requests: list[tuple[float, str]], sizes: dict, params: dict) -> dict:
    """AgeBased: expire by age since load and idle time since last access, on the requests' timestamps.

    Entries are kept in two orders, by last access and by load time, so the expired ones are
    always at the front of one of them.
    """
    max_age, max_idle, max_entries = params.get("max_age", 3600.0), params.get("max_idle", 600.0), params.get("max_entries")
    by_access: OrderedDict = OrderedDict()  # key -> last access
    by_load: dict = {}  # key -> load time, in load order
    resident = peak = misses = miss_bytes = 0

    def drop(k) -> None:
        nonlocal resident
        by_access.pop(k, None)
        by_load.pop(k, None)
        resident -= sizes[k]

    keys = []
    for t, key in requests:
        keys.append(key)
        last = by_access.get(key)
        if last is not None and (max_idle is None or t - last <= max_idle) and (max_age is None or t - by_load[key] <= max_age):
            by_access[key] = t
            by_access.move_to_end(key)
            continue
        if last is not None:
            drop(key)
        # the policy sweeps what has expired before each load
        while max_idle is not None and by_access and t - next(iter(by_access.values())) > max_idle:
            drop(next(iter(by_access)))
        while max_age is not None and by_load and t - next(iter(by_load.values())) > max_age:
            drop(next(iter(by_load)))
        size = sizes[key]
        misses += 1
        miss_bytes += size
        by_access[key] = t
        by_load[key] = t
        resident += size
        while max_entries is not None and len(by_access) > max_entries:
            drop(next(iter(by_access)))
        peak = max(peak, resident)
    return _result(keys, sizes, misses, miss_bytes, peak)


def simulate(model: str, requests: list[tuple[float, str]], sizes: dict, budget: int, *, params: dict | None = None,
             estimates: dict | None = None, baseline: int = 0) -> dict:
    """Replay ``requests`` ((t, key) pairs) through one model at one budget."""
    if model == "AgeBased":
        return age_based(requests, sizes, params or {})
    keys = [key for _, key in requests]
    if model in ("s3fifo", "sieve"):
        return byte_capacity(model, keys, sizes, budget)
    return _replay(make_model(model, budget, params=params, estimates=estimates or sizes, baseline=baseline), keys, sizes)


def byte_capacity(algorithm: str, keys: list, sizes: dict, capacity: int) -> dict:
    """A plain byte-capacity cache as libCacheSim runs it (:mod:`.models`: lru, s3fifo, sieve)."""
    dense: dict = {}
    ids = [dense.setdefault(key, len(dense)) for key in keys]
    misses, miss_bytes, peak = models.run(algorithm, ids, [sizes[key] for key in keys], capacity, len(dense))
    return _result(keys, sizes, misses, miss_bytes, peak)


def sweep(model: str, requests, sizes: dict, budgets: list[int], **kwargs) -> dict[str, list]:
    results = [simulate(model, requests, sizes, b, **kwargs) for b in budgets]
    return {k: [r[k] for r in results] for k in ("hit_ratio", "byte_hit_ratio", "peak_bytes")}


def default_budgets(sizes: dict, points: int = 8) -> list[int]:
    """``points`` budgets from 10 % to 120 % of the working set."""
    working_set = sum(sizes.values())
    return [max(1, int(f * working_set)) for f in np.linspace(0.10, 1.20, points)]


def simulate_experiment(document: dict) -> dict:
    """Curves for every policy of a finished experiment, on its requests, true sizes and measured baseline.

    A getsizeof-sized policy is replayed with the estimates it made in the real runs (its
    undercount is what lets it overshoot); deep and nbytes estimators with the true sizes.
    """
    exp = document["experiment"]
    sizes = {k: int(v) for k, v in exp["true_sizes"].items()}
    ok = [r for r in document["runs"] if r.get("status") == "ok"]
    if not ok:
        return {"budgets": [], "policies": {}, "reference": {}, "skipped": [], "summary": "no finished run to take requests from"}
    requests = [(row[0], row[1]) for row in ok[0]["requests"]]
    baseline = int(np.median([r["baseline_rss"] for r in ok]))
    budgets = sorted(set(default_budgets(sizes) + list(exp["budgets"])))
    curves, skipped = {}, []
    for policy in exp["policies"]:
        label, name = policy["label"], policy["name"]
        params = {k: v for k, v in policy.items() if k not in ("label", "name")}
        if name not in MODELS:
            skipped.append(label)
            continue
        estimates = sizes
        if name == "SizeEstimatedLRU" and params.get("estimator", "getsizeof") == "getsizeof":
            made = {}
            for run in (r for r in ok if r["label"] == label):
                for a in run["accounting"]:
                    made.setdefault(a["key"], a["estimated"])
            estimates = {k: made.get(k, 0) for k in sizes}  # a key never loaded in a real run is never asked
        curves[label] = sweep(name, requests, sizes, budgets, params=params, estimates=estimates, baseline=baseline)
    return {"reference": reference.curves([key for _, key in requests], sizes, budgets), "budgets": budgets,
            "baseline_bytes": baseline, "working_set_bytes": sum(sizes.values()), "policies": curves,
            "skipped": skipped, "requests": len(requests),
            "summary": f"{len(requests)} requests replayed at {len(budgets)} budgets with the catalogs' true sizes and a baseline "
                       f"of {baseline / 2**20:.0f} MiB" + (f"; not simulated (no model): {', '.join(skipped)}" if skipped else "")
                       + ("; libCacheSim reference curves: " + ", ".join(reference.ALGORITHMS) if reference.available() else "")}
