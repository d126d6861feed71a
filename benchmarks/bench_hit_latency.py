"""Hit latency of Cache.get_or_load against common LRU caches, same process, same run; and
of the @vizcache.cached decorator against pn.cache and cachetools' @cached.

    .venv/bin/python benchmarks/bench_hit_latency.py
"""

import threading
from collections import OrderedDict

import cachetools
import panel as pn

from _timing import per_call
from vizcache import AgeBased, Cache, RSSThresholdLRU, SizeEstimatedLRU, cached


class LockedLRU:
    """The reference: a lock-guarded OrderedDict LRU (what DESIGN.md measured at 0.17 µs)."""

    def __init__(self):
        self.data = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, loader):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        value = loader()
        with self.lock:
            self.data[key] = value
        return value


def main() -> None:
    value = object()
    loader = lambda: value  # noqa: E731
    locked = LockedLRU()
    locked.get("k", loader)
    lru = cachetools.LRUCache(maxsize=128)
    lru["k"] = value

    @pn.cache(max_items=128)
    def pn_cached(key):
        return value

    pn_cached("k")
    rows = {
        "lock-guarded OrderedDict LRU": per_call(lambda: locked.get("k", loader)),
        "cachetools.LRUCache (no lock, no stats)": per_call(lambda: lru["k"]),
        "pn.cache": per_call(lambda: pn_cached("k"), calls=20_000),
    }
    for name, policy in [("RSSThresholdLRU", RSSThresholdLRU(limit="1TiB")),
                         ("RSSThresholdLRU, order=s3fifo", RSSThresholdLRU(limit="1TiB", order="s3fifo")),
                         ("AgeBased", AgeBased()), ("SizeEstimatedLRU", SizeEstimatedLRU(budget="1TiB"))]:
        cache = Cache(policy)
        cache.get_or_load("k", loader)
        rows[f"vizcache Cache({name})"] = per_call(lambda: cache.get_or_load("k", loader))
    ref = rows["lock-guarded OrderedDict LRU"]
    print("| cache | hit, median µs | × lock-guarded LRU |\n|---|---|---|")
    for name, seconds in rows.items():
        print(f"| {name} | {seconds * 1e6:.3f} | {seconds / ref:.2f} |")

    @cached(policy=RSSThresholdLRU(limit="1TiB"))
    def viz_cached(key):
        return value

    @cachetools.cached(cachetools.LRUCache(maxsize=128))
    def tools_cached(key):
        return value

    viz_cached("k"), tools_cached("k")
    decorators = {
        "pn.cache": rows["pn.cache"],
        "cachetools.cached(LRUCache)": per_call(lambda: tools_cached("k")),
        "vizcache.cached(RSSThresholdLRU)": per_call(lambda: viz_cached("k"), calls=20_000),
    }
    print("\n| decorator | hit, median µs | × pn.cache |\n|---|---|---|")
    for name, seconds in decorators.items():
        print(f"| {name} | {seconds * 1e6:.2f} | {seconds / decorators['pn.cache']:.2f} |")


if __name__ == "__main__":
    main()
