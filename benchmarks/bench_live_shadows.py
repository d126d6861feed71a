"""Live A/B cost: time per request per shadow, the whole set on a cache's hit path, and memory per shadow (issue #26).

    .venv/bin/python benchmarks/bench_live_shadows.py [--requests 100000] [--keys 2000]

A zipf workload (skew 0.9) over ``--keys`` keys with log-normal sizes; the budget is a third of the
working set, so every shadow evicts. Times are this process's CPU time (``time.process_time``: on a
shared machine wall time counts other processes too), medians of 5 runs:

* per shadow: ``ShadowSet.offer`` with that one shadow, per request (queueing, sizing, the model, its window);
* the set: every shadow and the curve (10 budgets, rate 1 and 0.1), per request;
* on the request path: a hit of ``Cache.get_or_load`` with a trace, without and with the shadows attached.

Memory, with tracemalloc after the whole workload: the key/size table the shadows share (per key),
and each shadow's own state (per key it holds, and in all). Last, the CPU time of one live decision
(`vizcache compare`'s rule on the windows) after an hour and after a day of one-minute windows.
"""

import argparse
import gc
import statistics
import time
import tracemalloc

import numpy as np

from vizcache import Cache, Sized
from vizcache.compare.workloads import zipf
from vizcache.live.curve import Curve
from vizcache.live.shadows import ShadowSet, attach, shadow_specs
from vizcache.policies.rss_lru import RSSThresholdLRU


def workload(n: int, keys: int) -> tuple[list[str], dict[str, int]]:
    rng = np.random.default_rng(0)
    names = [f"catalog-{i:05d}" for i in range(keys)]
    sizes = {k: int(s) for k, s in zip(names, rng.lognormal(np.log(50e6), 0.8, keys))}
    return [key for _, key in zipf(names, n, seed=1, skew=0.9)], sizes


def feed(shadows: ShadowSet, keys: list[str], sizes: dict) -> float:
    offer, seen = shadows.offer, set()
    start = time.process_time()
    for key in keys:
        if key in seen:
            offer(key, True)
        else:
            seen.add(key)
            offer(key, False, 0, sizes[key])
    return (time.process_time() - start) / len(keys)


def median_of(make, keys, sizes, runs: int = 5) -> float:
    return statistics.median(feed(make(), keys, sizes) for _ in range(runs))


def hit_path(tmp: str, shadows: bool) -> float:
    cache = Cache(RSSThresholdLRU(limit="64GiB"), trace=f"{tmp}/hit-{shadows}.jsonl")
    if shadows:
        attach(cache, budget=2**30)
    cache.get_or_load("k", lambda: Sized(1, 100))
    get, loader = cache.get_or_load, (lambda: None)
    samples = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(100_000):
            get("k", loader)
        samples.append((time.process_time() - start) / 100_000)
    return statistics.median(samples)


def memory(keys: list[str], sizes: dict, budget: int) -> dict:
    """Bytes allocated and still held after the workload: the set with no shadow, then with each one alone."""

    def held(labels) -> tuple[int, int]:
        gc.collect()
        start = tracemalloc.get_traced_memory()[0]
        shadows = ShadowSet(budget, labels=labels)
        feed(shadows, keys, sizes)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - start, len(shadows.shadows[0].model.cached) if shadows.shadows else len(shadows.sizes)

    tracemalloc.start()
    table, n_keys = held([])
    out = {"table": (table, n_keys)}
    for label in shadow_specs():
        total, cached = held([label])
        out[label] = (total - table, cached)
    tracemalloc.stop()
    return out


def decision_cpu(keys: list[str], sizes: dict, budget: int, windows: int) -> float:
    from vizcache.live.ab import live_decision

    shadows = ShadowSet(budget)
    per = len(keys) // windows
    for w in range(windows):
        shadows.drain()
        for shadow in shadows.shadows:  # a new window now, as the clock starts one a minute
            shadow.windows.append([time.time(), 0, 0, 0, 0])
        feed(shadows, keys[w * per:(w + 1) * per], sizes)
    figures = shadows.snapshot()
    start = time.process_time()
    live_decision(figures, "getsizeof")
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=2000)
    args = parser.parse_args()
    keys, sizes = workload(args.requests, args.keys)
    budget = sum(sizes.values()) // 3
    print(f"{args.requests:,} requests over {args.keys:,} keys, budget {budget / 2**30:.1f} GiB (a third of the working set)\n")
    print("| what | µs per request (median of 5) |\n|---|---|")
    empty = median_of(lambda: ShadowSet(budget, labels=[]), keys, sizes)
    print(f"| queue and size table only (no shadow) | {empty * 1e6:.2f} |")
    for label in shadow_specs():
        t = median_of(lambda label=label: ShadowSet(budget, labels=[label]), keys, sizes)
        print(f"| {label} shadow, its own cost (above the line before) | {(t - empty) * 1e6:.2f} |")

    def with_curve(rate: float):
        def make():
            shadows = ShadowSet(budget)
            shadows.extra.append(Curve(budget, shadows.estimates, rate=rate))
            return shadows
        return make

    print(f"| every shadow ({len(shadow_specs())}) | {median_of(lambda: ShadowSet(budget), keys, sizes) * 1e6:.2f} |")
    for rate in (1.0, 0.1):
        print(f"| every shadow and the curve (10 budgets) at rate {rate:g} | {median_of(with_curve(rate), keys, sizes) * 1e6:.2f} |")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        plain, shadowed = hit_path(tmp, False), hit_path(tmp, True)
    print(f"| Cache hit with a trace | {plain * 1e6:.2f} |")
    print(f"| Cache hit with a trace and every shadow and the curve attached | {shadowed * 1e6:.2f} |")
    print("\n| memory | bytes |\n|---|---|")
    figures = memory(keys, sizes, budget)
    table, n_keys = figures.pop("table")
    print(f"| key/size/estimate table the shadows share: all / per key ({n_keys:,} keys) | {table:,} / {table / n_keys:,.0f} |")
    for label, (total, held) in figures.items():
        print(f"| {label} shadow: all / per key it holds ({held:,} keys) | {total:,} / {total / max(held, 1):,.0f} |")
    print("\n| one live decision | CPU seconds |\n|---|---|")
    for windows in (60, 1440):
        print(f"| after {windows:,} one-minute windows | {decision_cpu(keys, sizes, budget, windows):.1f} |")


if __name__ == "__main__":
    main()
