"""One (policy, repetition) run, in its own fresh process so no run's RSS leaks into another's.

    python -m vizcache.compare.worker SPEC.json RESULT.json

Replays the requests with real loads of real files through a real Cache, samples RSS every few
milliseconds, and writes what happened. Pauses in the workload advance the cache's clock
instead of sleeping.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import numpy as np

from ..cache import Cache
from ..catalogs.source import CatalogSource, CatalogSpec
from ..config import policy_from_table
from ..memory import RSSProbe, peak_rss, release_memory
from ..sizing import deep_size


def old_app_layout(catalog) -> dict:
    """How the old viewer held a catalog: a nested dict, object-dtype strings, copied arrays."""
    df = catalog.data.copy()
    ids = df["id"] if "id" in df.columns else df["cluster_id"]
    df["name"] = ("EUCL-" + ids.astype("int64").astype(str)).astype(object)
    return {"data": df, "arrays": {c: df[c].to_numpy(copy=True) for c in ("ra", "dec")},
            "meta": {"name": catalog.name, "rows": len(df), "files": [str(f) for f in catalog.files]}}


class Sampler(threading.Thread):
    """RSS every `every` seconds, for peak and time-over-limit."""

    def __init__(self, every: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.every, self.samples, self.stop = every, [], threading.Event()
        self.probe = RSSProbe()

    def run(self) -> None:
        start = time.perf_counter()
        while not self.stop.is_set():
            self.samples.append((time.perf_counter() - start, self.probe()))
            time.sleep(self.every)


def run(spec: dict) -> dict:
    catalogs = {name: CatalogSource(CatalogSpec(name, kind, tuple(files), (Path(spec["data_dir"]).resolve(),)))
                for name, (kind, files) in spec["catalogs"].items()}
    # Warm up: the first load imports reader internals lazily; that memory is no cache's.
    first = next(iter(catalogs.values())).load()
    del first
    release_memory()
    baseline = RSSProbe()()
    table = dict(spec["policy"])
    name = table["name"]
    # The memory headroom becomes each policy's own knob unless the experiment set it.
    if name == "RSSThresholdLRU":
        table.setdefault("limit", baseline + spec["headroom"])
    elif name == "SizeEstimatedLRU":
        table.setdefault("budget", spec["headroom"])
    policy = policy_from_table(table, "experiment", where=f"[[policies]] {spec['label']!r}")
    offset = [0.0]
    cache = Cache(policy, clock=lambda: time.monotonic() + offset[0], event_log_size=100_000)
    layout = old_app_layout if spec["layout"] == "old-app" else (lambda c: c)
    sampler = Sampler()
    sampler.start()
    requests, accounting, true_size = [], [], {}
    previous_t = 0.0
    for t, key in spec["requests"]:
        offset[0] += max(0.0, t - previous_t)  # a pause in the workload, without sleeping through it
        previous_t = t
        source = catalogs[key]
        hits_before = cache.counters()["hits"]
        start = time.perf_counter()
        value = cache.get_or_load(key, lambda: layout(source.load()))
        latency = time.perf_counter() - start
        hit = cache.counters()["hits"] > hits_before
        if not hit:  # sizing for the report happens outside the timed call
            true_size[key] = deep_size(value)
            entry = next((e for e in cache.entries() if e["key"] == key), None)
            if entry is not None:
                accounting.append({"key": key, "true": true_size[key], "measured": entry["rss_delta_bytes"],
                                   "estimated": entry["estimated_bytes"]})
        requests.append([t, key, hit, latency, true_size[key]])
        del value
    sampler.stop.set()
    sampler.join()
    stats = cache.stats()
    reclaimed = [e.bytes for e in cache.events.since(0) if e.kind == "evict" and "RSS given back" in e.detail]
    return {
        "status": "ok", "label": spec["label"], "repetition": spec["repetition"], "baseline_rss": baseline,
        "limit": baseline + spec["headroom"], "requests": requests, "rss": sampler.samples, "peak_rss": peak_rss(),
        "stats": {k: v for k, v in stats.items() if k not in ("warnings", "params")}, "params": stats["params"],
        "accounting": accounting, "reclaimed": reclaimed,
        "sample_interval": float(np.median(np.diff([s[0] for s in sampler.samples]))) if len(sampler.samples) > 1 else None,
    }


def main() -> None:
    spec_path, result_path = map(Path, sys.argv[1:3])
    result = run(json.loads(spec_path.read_text()))
    result_path.write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
