"""Simulation: replay a request sequence through models of the policies, without loading anything.

Every model takes the experiment's one ``budget`` (bytes of cache memory above the baseline)
and derives its parameters exactly as a real run does (``worker.derive_params``):

* ``lru`` — a plain LRU whose capacity is the budget in bytes, objects sized as the trace says
  (what libCacheSim's LRU does; an object bigger than the whole budget is not cached);
* ``SizeEstimatedLRU`` — LRU on *estimated* sizes (getsizeof's estimates undercount, so it keeps
  more than the budget in real memory);
* ``RSSThresholdLRU`` and ``LegacyRSSManager`` — RSS = baseline + the true sizes of what is
  cached, with their water marks at the same places as in the real runs;
* ``AgeBased`` — expiry on the requests' own timestamps (it has no memory bound).

Each returns hit ratio, byte hit ratio and peak bytes above the baseline.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..policies import available_policies
from . import reference
from .worker import derive_params

MODELS = ("lru", "SizeEstimatedLRU", "RSSThresholdLRU", "LegacyRSSManager", "AgeBased")


def _result(hits: int, hit_bytes: int, all_bytes: int, n: int, peak: int) -> dict:
    return {"hit_ratio": hits / n if n else 0.0, "byte_hit_ratio": hit_bytes / all_bytes if all_bytes else 0.0, "peak_bytes": int(peak)}


def lru(keys: list, sizes: dict, capacity: int) -> dict:
    """Plain LRU on byte capacity: admit, then evict least recently used until the total fits."""
    cache: OrderedDict = OrderedDict()
    used = peak = hits = hit_bytes = all_bytes = 0
    move = cache.move_to_end
    for key in keys:
        size = sizes[key]
        all_bytes += size
        if key in cache:
            move(key)
            hits += 1
            hit_bytes += size
            continue
        if size > capacity:
            continue
        cache[key] = size
        used += size
        while used > capacity:
            used -= cache.popitem(last=False)[1]
        if used > peak:
            peak = used
    return _result(hits, hit_bytes, all_bytes, len(keys), peak)


def size_estimated(keys: list, sizes: dict, estimates: dict, budget: int) -> dict:
    """SizeEstimatedLRU: admit when the estimate fits the budget, then evict others until the estimates fit."""
    cache: OrderedDict = OrderedDict()
    accounted = resident = peak = hits = hit_bytes = all_bytes = 0
    for key in keys:
        size = sizes[key]
        all_bytes += size
        if key in cache:
            cache.move_to_end(key)
            hits += 1
            hit_bytes += size
            continue
        peak = max(peak, resident + size)  # the value is in memory while it is sized
        estimate = estimates[key]
        if estimate > budget:
            continue
        cache[key] = None
        accounted += estimate
        resident += size
        peak = max(peak, resident)
        while accounted > budget and len(cache) > 1:
            victim = next(iter(cache))
            if victim == key:
                break
            del cache[victim]
            accounted -= estimates[victim]
            resident -= sizes[victim]
    return _result(hits, hit_bytes, all_bytes, len(keys), peak)


def _marks(name: str, params: dict, baseline: int, budget: int) -> tuple[int, int, int]:
    table = derive_params({"name": name, **params}, baseline, budget)
    limit = table["limit"]
    high = table.get("high_water", available_policies()[name].param["high_water"].default)
    return limit, int(limit * high), int(limit * table["low_water"])


def rss_threshold(keys: list, sizes: dict, budget: int, params: dict, baseline: int) -> dict:
    """RSSThresholdLRU: make room for a known key's last size below high water; unknown keys evict to low water."""
    limit, high, low = _marks("RSSThresholdLRU", params, baseline, budget)
    cache: OrderedDict = OrderedDict()
    known: dict = {}
    resident = peak = hits = hit_bytes = all_bytes = 0

    def evict_to(target: int, exclude=None) -> None:
        nonlocal resident
        for victim in [k for k in cache if k != exclude]:
            if baseline + resident <= target:
                return
            del cache[victim]
            resident -= sizes[victim]

    for key in keys:
        size = sizes[key]
        all_bytes += size
        if key in cache:
            cache.move_to_end(key)
            hits += 1
            hit_bytes += size
            continue
        rss = baseline + resident
        expected = known.get(key)
        if expected is None:
            if rss > high:
                evict_to(low)
        elif rss + expected > high and baseline + expected <= limit:
            evict_to(high - expected)
        known[key] = size
        rss_after = baseline + resident + size
        peak = max(peak, resident + size)
        if rss_after > limit:
            if rss_after - resident > limit:
                continue  # cannot fit even in an empty cache: rejected
            evict_to(high - size)
            if baseline + resident + size > limit:
                continue
        cache[key] = None
        resident += size
        if rss_after > high:
            evict_to(high, exclude=key)
    return _result(hits, hit_bytes, all_bytes, len(keys), peak)


def legacy_rss(keys: list, sizes: dict, budget: int, params: dict, baseline: int) -> dict:
    """LegacyRSSManager: above high water, delete LRU entries until below low; keep a new value only below high."""
    _, high, low = _marks("LegacyRSSManager", params, baseline, budget)
    cache: OrderedDict = OrderedDict()
    resident = peak = hits = hit_bytes = all_bytes = 0
    for key in keys:
        size = sizes[key]
        all_bytes += size
        if key in cache:
            cache.move_to_end(key)
            hits += 1
            hit_bytes += size
            continue
        if baseline + resident > high:
            while cache and baseline + resident >= low:
                resident -= sizes[cache.popitem(last=False)[0]]
        peak = max(peak, resident + size)
        if baseline + resident + size < high:
            cache[key] = None
            resident += size
    return _result(hits, hit_bytes, all_bytes, len(keys), peak)


def age_based(requests: list[tuple[float, str]], sizes: dict, params: dict) -> dict:
    """AgeBased: expire by age since load and idle time since last access, on the requests' timestamps."""
    max_age, max_idle, max_entries = params.get("max_age", 3600.0), params.get("max_idle", 600.0), params.get("max_entries")
    cache: OrderedDict = OrderedDict()  # key -> (inserted, last access)
    resident = peak = hits = hit_bytes = all_bytes = 0
    for t, key in requests:
        size = sizes[key]
        all_bytes += size
        for k, (inserted, last) in list(cache.items()):  # the policy sweeps expired entries before each load
            if (max_age is not None and t - inserted > max_age) or (max_idle is not None and t - last > max_idle):
                del cache[k]
                resident -= sizes[k]
        if key in cache:
            cache[key] = (cache[key][0], t)
            cache.move_to_end(key)
            hits += 1
            hit_bytes += size
            continue
        cache[key] = (t, t)
        resident += size
        while max_entries is not None and len(cache) > max_entries:
            resident -= sizes[cache.popitem(last=False)[0]]
        peak = max(peak, resident)
    return _result(hits, hit_bytes, all_bytes, len(requests), peak)


def simulate(model: str, requests: list[tuple[float, str]], sizes: dict, budget: int, *, params: dict | None = None,
             estimates: dict | None = None, baseline: int = 0) -> dict:
    """Replay ``requests`` ((t, key) pairs) through one model at one budget."""
    params = params or {}
    keys = [key for _, key in requests]
    if model == "lru":
        return lru(keys, sizes, budget)
    if model == "SizeEstimatedLRU":
        return size_estimated(keys, sizes, estimates or sizes, budget)
    if model == "RSSThresholdLRU":
        return rss_threshold(keys, sizes, budget, params, baseline)
    if model == "LegacyRSSManager":
        return legacy_rss(keys, sizes, budget, params, baseline)
    if model == "AgeBased":
        return age_based(requests, sizes, params)
    raise ValueError(f"no simulation model {model!r}; models: {', '.join(MODELS)}")


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
    return {"reference": reference.curves([key for _, key in requests], sizes, budgets),"budgets": budgets, "baseline_bytes": baseline, "working_set_bytes": sum(sizes.values()), "policies": curves,
            "skipped": skipped, "requests": len(requests),
            "summary": f"{len(requests)} requests replayed at {len(budgets)} budgets with the catalogs' true sizes and a baseline "
                       f"of {baseline / 2**20:.0f} MiB" + (f"; not simulated (no model): {', '.join(skipped)}" if skipped else "")
                       + ("; libCacheSim reference curves: " + ", ".join(reference.ALGORITHMS) if reference.available() else "")}
