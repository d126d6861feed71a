"""Eviction orders at equal byte budgets: vizcache's lru, s3fifo and sieve against libCacheSim's LRU, S3FIFO and Sieve.

    .venv/bin/python benchmarks/bench_orders.py

Two traces: a synthetic zipf (200 keys of 1–4 MiB, skew 0.9, 20,000 requests) and the
recorded pan/zoom session over the large preset's HATS partitions
(benchmarks/traces/hats_large_pan_zoom.jsonl: 3,211 requests, 286 partitions). vizcache's
orders run in the real Cache (SizeEstimatedLRU weighing each value by the trace's size), so
this is the eviction order alone, with no RSS in play. Deterministic: one run is the figure.
"""

from pathlib import Path

import numpy as np

from vizcache import Cache, SizeEstimatedLRU, read_trace
from vizcache.compare.reference import replay
from vizcache.trace import request_size

MiB = 2**20
TRACE = Path(__file__).parent / "traces" / "hats_large_pan_zoom.jsonl"


def zipf_trace():
    rng = np.random.default_rng(3)
    sizes = {k: int(rng.integers(1, 5)) * MiB for k in range(200)}
    popularity = 1 / np.arange(1, 201) ** 0.9
    return rng.choice(200, size=20_000, p=popularity / popularity.sum()).tolist(), sizes


def recorded_trace():
    rows = read_trace(TRACE)
    sizes = {}
    for row in rows:
        sizes.setdefault(row["key"], request_size(row))
    return [row["key"] for row in rows], sizes


def ours(order: str, keys: list, sizes: dict, budget: int) -> float:
    cache = Cache(SizeEstimatedLRU(estimator=lambda v: v[1], budget=budget, order=order))
    for key in keys:
        cache.get_or_load(key, lambda key=key: (key, sizes[key]))
    return cache.stats().hit_ratio


def main() -> None:
    print("| trace | budget (share of working set) | vizcache lru | vizcache s3fifo | vizcache sieve | libCacheSim LRU | libCacheSim S3FIFO "
          "| libCacheSim Sieve |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (keys, sizes) in {"zipf, 200 keys": zipf_trace(), "recorded HATS pan/zoom": recorded_trace()}.items():
        working_set = sum(sizes.values())
        for share in (0.05, 0.1, 0.2, 0.3, 0.5):
            budget = int(working_set * share)
            row = [ours(order, keys, sizes, budget) for order in ("lru", "s3fifo", "sieve")]
            row += [replay(name, keys, sizes, budget)["hit_ratio"] for name in ("LRU", "S3FIFO", "Sieve")]
            print(f"| {name} | {share:.0%} | " + " | ".join(f"{r:.3f}" for r in row) + " |")


if __name__ == "__main__":
    main()
