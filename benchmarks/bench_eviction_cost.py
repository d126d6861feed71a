"""Reclaim cost per eviction of RSSThresholdLRU in a viewer-like process.

    .venv/bin/python benchmarks/bench_eviction_cost.py

The process imports what the viewer imports (panel, holoviews, bokeh, datashader) and keeps
a live heap of ~200K small objects, as a server with sessions does. A tight limit makes
most misses evict. Side by side in the same process: a full ``gc.collect()`` + trim (what
the policy paid per eviction before), the same after ``gc.freeze()``, and today's reclaim
(drop the value, trim the heap, re-read RSS; a throttled collection only when freed memory
did not show up). It also checks RSS never exceeded the limit and counts evictions.
"""

import gc
import random
import statistics
import time

import datashader  # noqa: F401 - the viewer's libraries: their objects are what a full collection walks
import holoviews  # noqa: F401
import numpy as np
import pandas as pd
import panel  # noqa: F401

from vizcache import Cache, RSSThresholdLRU, Sized
from vizcache.memory import RSSProbe, release_memory

MiB = 2**20


def live_heap(n: int = 200_000) -> list:
    """Small, tracked, long-lived objects such as sessions keep: dicts, lists, instances."""
    return [{"i": i, "tags": [i, str(i)]} for i in range(n)]


def value(rng: random.Random):
    """A catalog-like value: arrays, or a frame with an object-dtype string column."""
    n = rng.choice([1_000_000, 2_000_000])
    if rng.random() < 0.5:
        return Sized({"ra": np.random.rand(n), "dec": np.random.rand(n), "z": np.random.rand(n)}, 24 * n)
    frame = pd.DataFrame({"ra": np.random.rand(n // 4), "name": [f"CL{i:07d}" for i in range(n // 4)]})
    return frame


def full_collection_ms(repeats: int = 15) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        release_memory()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def run_policy(requests: int = 150, keys: int = 16, seed: int = 1):
    probe = RSSProbe()
    limit = probe() + 400 * MiB
    cache = Cache(RSSThresholdLRU(limit=limit, high_water=0.9, low_water=0.8), rss_probe=probe)
    rng = random.Random(seed)
    weights = [1 / (k + 1) for k in range(keys)]  # zipf-like popularity
    peak = 0
    for _ in range(requests):
        key = rng.choices(range(keys), weights)[0]
        cache.get_or_load(key, lambda: value(rng))
        peak = max(peak, probe())
    reclaims = [e.latency * 1e3 for e in cache.events.since(0) if e.kind == "reclaim"]
    stats = cache.stats()
    return reclaims, stats, peak - limit


def main() -> None:
    heap = live_heap()
    print(f"tracked objects: {len(gc.get_objects()):,}")
    before = full_collection_ms()
    reclaims, stats, over = run_policy()
    print("| reclaim per eviction (viewer-like process) | median ms | p95 ms |\n|---|---|---|")
    print(f"| full gc.collect() + malloc_trim (the policy's reclaim before) | {before:.1f} | |")
    print(f"| RSSThresholdLRU now: drop, trim, re-read RSS; throttled GC only when memory did not come back "
          f"| {statistics.median(reclaims):.2f} | {np.percentile(reclaims, 95):.2f} |")
    gc.freeze()
    print(f"| full gc.collect() + malloc_trim after gc.freeze() | {full_collection_ms():.1f} | |")
    print()
    print(f"evictions: {stats['evictions']} for {stats['requests']} requests ({stats['loads']} loads); "
          f"hit ratio {stats['hit_ratio']:.3f}; peak RSS {'above' if over > 0 else 'under'} the limit by "
          f"{abs(over) / MiB:.0f} MiB; reclaim total {stats['reclaim_seconds'] * 1e3:.0f} ms")
    del heap


if __name__ == "__main__":
    main()
