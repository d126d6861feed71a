"""Simulation speed: requests replayed per second per policy model, no real loads (target: >= 1M/s each).

    .venv/bin/python benchmarks/bench_simulation.py [--requests 1000000]

A Zipf workload over 200 catalogs with log-normal sizes; the budget is a third of the working set,
so every model evicts; the RSS models run with a 400 MiB baseline. Median of 5 runs. With
libCacheSim installed its LRU is timed on the same requests for comparison (it goes through
Python bindings one request at a time).
"""

import argparse
import statistics
import time

import numpy as np

from vizcache.compare import reference
from vizcache.compare.simulate import simulate
from vizcache.compare.workloads import zipf


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    names = [f"C{i:03d}" for i in range(200)]
    requests = zipf(names, args.requests, seed=1, skew=0.9)
    sizes = {n: int(s) for n, s in zip(names, rng.lognormal(np.log(50e6), 0.8, len(names)))}
    tiny = {n: 200 for n in names}  # what getsizeof says of a dict of arrays
    budget = sum(sizes.values()) // 3
    models = {
        "lru": ("lru", {}),
        "SizeEstimatedLRU (true sizes)": ("SizeEstimatedLRU", {"estimates": sizes}),
        "SizeEstimatedLRU (getsizeof-like estimates)": ("SizeEstimatedLRU", {"estimates": tiny}),
        "RSSThresholdLRU": ("RSSThresholdLRU", {"baseline": 400 * 2**20}),
        "LegacyRSSManager": ("LegacyRSSManager", {"baseline": 400 * 2**20}),
        "AgeBased": ("AgeBased", {"params": {"max_age": 3600.0, "max_idle": 600.0, "max_entries": 60}}),
    }
    print(f"| policy model | requests/s (median of 5, {args.requests:,} requests) | hit ratio |\n|---|---|---|")
    for label, (model, kwargs) in models.items():
        rates, result = [], None
        for _ in range(5):
            start = time.perf_counter()
            result = simulate(model, requests, sizes, budget, **kwargs)
            rates.append(args.requests / (time.perf_counter() - start))
        print(f"| {label} | {statistics.median(rates):,.0f} | {result['hit_ratio']:.3f} |")
    if reference.available():
        keys = [k for _, k in requests]
        start = time.perf_counter()
        result = reference.replay("LRU", keys, sizes, budget)
        print(f"| libCacheSim LRU (Python bindings, 1 run) | {args.requests / (time.perf_counter() - start):,.0f} | {result['hit_ratio']:.3f} |")


if __name__ == "__main__":
    main()
