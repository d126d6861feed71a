"""Run in a fresh process by test_real_memory.py: cycle real payloads through one policy.

Prints JSON: baseline RSS, limit, the kernel's peak RSS (VmHWM) over the workload, and stats.
"""

import json
import sys
from pathlib import Path

import numpy as np

from vizcache import Cache, RSSThresholdLRU, SizeEstimatedLRU
from vizcache.memory import RSSProbe, peak_rss, prepare_process_memory

MiB = 2**20


def payload(layout: str, nbytes: int):
    if layout == "array":
        return np.ones(nbytes // 8)  # touched pages: really resident
    half = nbytes // 16
    return {"ra": np.ones(half), "dec": np.ones(half), "meta": {"code": "PZWAV"}}  # the old app's nesting


def main(policy_name: str, headroom_mib: int, payload_mib: int, keys: int, rounds: int) -> None:
    prepare_process_memory()  # as the viewer's server does at start-up
    base = RSSProbe()()
    limit = base + headroom_mib * MiB
    if policy_name == "rss":
        policy, layout = RSSThresholdLRU(limit=limit, high_water=0.8, low_water=0.7), "array"
    else:  # the cache's share of the limit, as the old code budgeted it
        policy, layout = SizeEstimatedLRU(estimator=policy_name, budget=int(0.7 * headroom_mib * MiB)), "dict"
    cache = Cache(policy)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: peak from here on
    for _ in range(rounds):
        for key in range(keys):
            cache.get_or_load(key, lambda: payload(layout, payload_mib * MiB))
    stats = cache.stats()
    print(json.dumps({"base": base, "limit": limit, "peak": peak_rss(), "high": getattr(policy, "high_bytes", None),
                      "entries": stats["entries"], "evictions": stats["evictions"], "loads": stats["loads"],
                      "bytes_reclaimed": stats["bytes_reclaimed"]}))


if __name__ == "__main__":
    main(sys.argv[1], *map(int, sys.argv[2:]))
