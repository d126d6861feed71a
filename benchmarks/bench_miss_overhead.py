"""Miss overhead per policy without the loader's own time, and the RSS probe's cost.

    .venv/bin/python benchmarks/bench_miss_overhead.py

Each miss loads a new key whose loader returns a ready object, so what is timed is the
cache's and the policy's bookkeeping: probes, sizing, locking, the entry, the event.
"""

import statistics
import time

import numpy as np
import psutil

from _timing import per_call
from vizcache import AgeBased, Cache, RSSThresholdLRU, SizeEstimatedLRU
from vizcache.memory import RSSProbe


def miss_seconds(make_policy, value, misses: int = 2000, repeats: int = 7) -> float:
    samples = []
    loader = lambda: value  # noqa: E731
    for _ in range(repeats):
        cache = Cache(make_policy())
        start = time.perf_counter()
        for key in range(misses):
            cache.get_or_load(key, loader)
        samples.append((time.perf_counter() - start) / misses)
    return statistics.median(samples)


def main() -> None:
    probe = RSSProbe()
    proc = psutil.Process()
    print("| RSS probe | median µs a read |\n|---|---|")
    print(f"| /proc/self/statm pread (vizcache fast path) | {per_call(probe) * 1e6:.2f} |")
    print(f"| psutil memory_info().rss | {per_call(lambda: proc.memory_info().rss, calls=20_000) * 1e6:.2f} |")
    print()
    frame_like = {"ra": np.zeros(1000), "dec": np.zeros(1000)}
    policies = {
        "RSSThresholdLRU": lambda: RSSThresholdLRU(limit="1TiB"),
        "AgeBased": lambda: AgeBased(max_idle=None, max_age=None),
        "SizeEstimatedLRU(getsizeof)": lambda: SizeEstimatedLRU(estimator="getsizeof", budget="1TiB"),
        "SizeEstimatedLRU(deep)": lambda: SizeEstimatedLRU(estimator="deep", budget="1TiB"),
    }
    print("| policy | miss overhead, median µs (100 entries cached) |\n|---|---|")
    for name, make in policies.items():
        # SizeEstimatedLRU re-sizes every entry on each admit (as the old code did), so its
        # overhead grows with the number of entries: measure at 100.
        print(f"| {name} | {miss_seconds(make, frame_like, misses=100) * 1e6:.1f} |")


if __name__ == "__main__":
    main()
