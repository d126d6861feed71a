"""Simulation speed: requests replayed per second per policy model, no real loads.

    .venv/bin/python benchmarks/bench_simulation.py [--requests 1000000]

A Zipf workload over 200 catalogs with log-normal sizes and load times; the memory limit is a
third of the working set, so every model evicts. Median of 5 runs.
"""

import argparse
import statistics
import time

import numpy as np

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
    loads = {n: float(s) for n, s in zip(names, rng.lognormal(np.log(0.2), 0.5, len(names)))}
    tiny = {n: 200 for n in names}
    limit = sum(sizes.values()) // 3
    models = {
        "RSSThresholdLRU": ({}, {"high_water": 0.8, "low_water": 0.7}),
        "SizeEstimatedLRU (deep-like estimates)": (sizes, {}),
        "SizeEstimatedLRU (getsizeof-like estimates)": (tiny, {}),
        "AgeBased": ({}, {"max_age": 3600.0, "max_idle": 600.0, "max_entries": 60}),
    }
    print(f"| policy model | requests/s (median of 5, {args.requests:,} requests) | miss ratio |\n|---|---|---|")
    for label, (estimates, params) in models.items():
        name = label.split(" ")[0]
        rates, result = [], None
        for _ in range(5):
            start = time.perf_counter()
            result = simulate(requests, sizes, estimates, loads, name, params, limit)
            rates.append(args.requests / (time.perf_counter() - start))
        print(f"| {label} | {statistics.median(rates):,.0f} | {result['miss_ratio']:.3f} |")


if __name__ == "__main__":
    main()
