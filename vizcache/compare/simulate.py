"""Simulation: replay requests against policy models without loading anything, across memory limits.

Each key's size and load time come from what the real runs recorded (or a trace's rows), so
a sweep of limits draws miss-ratio and latency curves in a fraction of a second per point.
The models keep the built-in policies' rules: RSS-threshold LRU with hysteresis (resident bytes
= measured bytes of what is cached), size-estimated LRU (accounting with each key's estimate,
memory with its measured size), and age/idle expiry on the requests' own timestamps.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .experiment import Experiment
from .workloads import Request

SIMULATED = ("RSSThresholdLRU", "SizeEstimatedLRU", "AgeBased")


def simulate(requests: list[Request], measured: dict[str, int], estimated: dict[str, int], load_s: dict[str, float],
             name: str, params: dict, limit: int) -> dict:
    """Replay ``requests`` against one policy model with a memory ``limit`` (the cache's share, bytes)."""
    cache: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (inserted, last access)
    resident = accounted = 0
    misses = 0
    latency = 0.0
    peak = 0
    high = limit * params.get("high_water", 0.8)
    low = limit * params.get("low_water", 0.7)
    max_age, max_idle, max_entries = params.get("max_age", 3600.0), params.get("max_idle", 600.0), params.get("max_entries")
    for t, key in requests:
        entry = cache.get(key)
        if entry is not None:
            if name == "AgeBased" and ((max_age is not None and t - entry[0] > max_age) or (max_idle is not None and t - entry[1] > max_idle)):
                del cache[key]
                resident -= measured[key]
            else:
                cache[key] = (entry[0], t)
                cache.move_to_end(key)
                continue
        misses += 1
        latency += load_s[key]
        size = measured[key]
        if name == "RSSThresholdLRU":
            if resident > high:  # make room before the load, down to low water
                while cache and resident > low:
                    resident -= measured[cache.popitem(last=False)[0]]
            if resident + size > limit:  # the load crossed the limit: evict others, else reject
                while cache and resident + size > low:
                    resident -= measured[cache.popitem(last=False)[0]]
                if resident + size > limit:
                    peak = max(peak, resident + size)
                    continue
            resident += size
            cache[key] = (t, t)
            if resident > high:
                while len(cache) > 1 and resident > low:
                    victim = next(iter(cache))
                    resident -= measured[victim]
                    del cache[victim]
        elif name == "SizeEstimatedLRU":
            estimate = estimated.get(key, size)
            if estimate > limit:
                peak = max(peak, resident + size)
                continue
            cache[key] = (t, t)
            resident += size
            accounted += estimate
            while accounted > limit and len(cache) > 1:
                victim = next(iter(cache))
                accounted -= estimated.get(victim, measured[victim])
                resident -= measured[victim]
                del cache[victim]
        else:  # AgeBased
            cache[key] = (t, t)
            resident += size
            while max_entries is not None and len(cache) > max_entries:
                resident -= measured[cache.popitem(last=False)[0]]
        peak = max(peak, resident)
    n = len(requests)
    return {"miss_ratio": misses / n if n else 0.0, "mean_latency_ms": 1e3 * latency / n if n else 0.0, "peak_mib": peak / 2**20}


def recorded_costs(document: dict) -> dict[str, dict]:
    """Per key, medians over the real runs: measured bytes, true bytes, getsizeof's estimate, load seconds."""
    samples: dict[str, dict[str, list]] = {"measured": {}, "true": {}, "getsizeof": {}, "load_s": {}}
    for run in (r for r in document["runs"] if r.get("status") == "ok"):
        for a in run["accounting"]:
            samples["measured"].setdefault(a["key"], []).append(max(a["measured"], 1))
            samples["true"].setdefault(a["key"], []).append(a["true"])
            if a["estimated"] is not None and run["params"].get("estimator") == "getsizeof":
                samples["getsizeof"].setdefault(a["key"], []).append(a["estimated"])
        for _, key, hit, latency, _ in run["requests"]:
            if not hit:
                samples["load_s"].setdefault(key, []).append(latency)
    return {what: {k: float(np.median(v)) for k, v in d.items()} for what, d in samples.items()}


def simulate_experiment(exp: Experiment, document: dict, points: int = 12) -> dict:
    """Sweep the memory limit from 5 % to 120 % of the working set for every simulated policy."""
    costs = recorded_costs(document)
    measured = {k: int(v) for k, v in costs["measured"].items()}
    load_s = costs["load_s"]
    first_ok = next(r for r in document["runs"] if r.get("status") == "ok")
    requests = [(row[0], row[1]) for row in first_ok["requests"] if row[1] in measured and row[1] in load_s]
    working_set = sum(measured.values())
    limits = np.linspace(0.05, 1.2, points) * working_set
    curves, skipped = {}, []
    for policy in exp.policies:
        name = policy.table["name"]
        if name not in SIMULATED:
            skipped.append(policy.label)
            continue
        params = {k: v for k, v in policy.table.items() if k != "name"}
        # getsizeof accounts what it estimated in the real runs; deep and nbytes come close to the true size
        source = "getsizeof" if params.get("estimator", "getsizeof") == "getsizeof" else "true"
        estimates = {k: int(v) for k, v in costs[source].items()}
        results = [simulate(requests, measured, estimates, load_s, name, params, int(limit)) for limit in limits]
        curves[policy.label] = {k: [r[k] for r in results] for k in ("miss_ratio", "mean_latency_ms", "peak_mib")}
    mid = points // 2
    summary = (f"{len(requests)} requests replayed at {points} memory limits from {limits[0] / 2**20:.0f} to {limits[-1] / 2**20:.0f} MiB "
               f"(working set {working_set / 2**20:.0f} MiB, measured sizes and load times from the real runs). At "
               f"{limits[mid] / 2**20:.0f} MiB: " + "; ".join(f"{label} misses {c['miss_ratio'][mid]:.0%}, mean latency "
                                                            f"{c['mean_latency_ms'][mid]:.1f} ms, peak {c['peak_mib'][mid]:.0f} MiB"
                                                            for label, c in curves.items())
               + (f". Not simulated (no model): {', '.join(skipped)}" if skipped else ""))
    return {"limits_mib": [float(x) / 2**20 for x in limits], "curves": curves, "skipped": skipped, "summary": summary}
