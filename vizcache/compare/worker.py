"""One (policy, repetition) run, in its own fresh process so no run's RSS leaks into another's.

    python -m vizcache.compare.worker SPEC.json RESULT.json          # a run
    python -m vizcache.compare.worker --truth SPEC.json RESULT.json  # ground-truth sizes

A request's value is a catalog loaded through the experiment's layout or, for a trace replayed
with ``keys = "recorded"``, a stand-in for the recorded entry (``recorded_value``). A run warms
up (one value of each kind, sized by every estimator, then dropped), freezes
what is left with ``gc.freeze()``, turns automatic garbage collection off and reads its baseline
RSS. Every policy's memory parameters then follow from the one ``budget`` (see ``derive_params``).
Each request is timed; after it, the value is dropped and one ``gc.collect()`` + ``malloc_trim(0)``
runs at the same point in every run, timed apart from the policy's own overhead. Pauses in the workload advance
the cache's clock instead of sleeping. With ``threads`` > 1 the same requests are taken in order by
that many threads at once (``_threaded``), so loads overlap.
"""

from __future__ import annotations

import gc
import json
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import Cache, Sized
from ..catalogs.source import CatalogSource, CatalogSpec
from ..config import policy_from_table
from ..memory import RSSProbe, peak_rss, release_memory, tune_allocator
from ..policies import available_policies
from ..sizing import ESTIMATORS


def _ids(df: pd.DataFrame) -> np.ndarray:
    return df["id" if "id" in df.columns else "cluster_id"].to_numpy().astype(np.int64)


def _object_column(df: pd.DataFrame, values: list[str]) -> pd.Series:
    """An object-dtype column of Python strings, as FITS/CSV-era code held names.

    Explicitly object: pandas 3 would otherwise store strings in its Arrow-backed string dtype.
    """
    return pd.Series(np.array(values, dtype=object), index=df.index, dtype=object)


def _strings(df: pd.DataFrame, prefix: str, ids: np.ndarray) -> pd.Series:
    return _object_column(df, [f"{prefix}{i:08d}" for i in ids.tolist()])


def old_app_layout(catalog) -> dict:
    """How the old viewer held a catalog: a nested dict, object-dtype strings, copied arrays."""
    df = catalog.data.copy()
    df["name"] = _strings(df, "EUCL-", _ids(df))
    return {"data": df, "arrays": {c: df[c].to_numpy(copy=True) for c in ("ra", "dec")},
            "meta": {"name": catalog.name, "rows": len(df), "files": [str(f) for f in catalog.files]}}


def seed_layout(catalog) -> pd.DataFrame:
    """The seed viewer's DataFrames: names and cross-ids as object-dtype strings next to the numbers."""
    df = catalog.data.copy()
    ids = _ids(df)
    if catalog.kind == "clusters":
        df["name"] = _strings(df, f"EUCL-{catalog.name}-", ids)
        cross = df["cross_id"].to_numpy() if "cross_id" in df.columns else np.full(len(df), np.nan)
        df["cross_name"] = _object_column(df, [f"EUCL-X-{int(c):08d}" if c == c else "" for c in cross.tolist()])
    else:
        df["name"] = _strings(df, "EUCL-M-", np.arange(len(df)))
        df["cluster_name"] = _strings(df, "EUCL-BOTH-", ids)
    return df


LAYOUTS = {"old-app": old_app_layout, "frame": lambda catalog: catalog, "seed": seed_layout}


def derive_params(table: dict, baseline: int, budget: int) -> dict:
    """The policy's own memory parameters from the experiment's one budget (bytes above ``baseline``).

    Size-budgeted policies get ``budget``. RSS-driven ones (a ``limit`` with ``high_water`` and
    ``low_water``) start evicting at baseline + budget: ``limit = (baseline + budget) / high_water``,
    and their low water is set so that the band between the marks is the same share of the budget
    as the configured fractions say (``low = baseline + budget × low_water / high_water``), not a
    share of a limit that includes the baseline.
    """
    table = dict(table)
    params = available_policies()[table["name"]].param.objects("existing")
    if "budget" in params:
        table["budget"] = budget
    if {"limit", "high_water", "low_water"} <= set(params):
        high = table.get("high_water", params["high_water"].default)
        low = table.get("low_water", params["low_water"].default)
        limit = (baseline + budget) / high
        table["limit"] = int(limit)
        table["low_water"] = (baseline + budget * low / high) / int(limit)
    return table


class Sampler(threading.Thread):
    """RSS every `every` seconds, to catch peaks inside a request."""

    def __init__(self, every: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.every, self.times, self.rss, self.stop = every, [], [], threading.Event()
        self.probe = RSSProbe()

    def run(self) -> None:
        while not self.stop.is_set():
            self.times.append(time.perf_counter())
            self.rss.append(self.probe())
            time.sleep(self.every)


def _reset_peak() -> bool:
    """Reset the kernel's VmHWM so the warm-up's peak does not count; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _sources(spec: dict) -> dict[str, CatalogSource]:
    folder = (Path(spec["data_dir"]).resolve(),)
    return {name: CatalogSource(CatalogSpec(name, kind, tuple(files), folder)) for name, (kind, files) in spec["catalogs"].items()}


def _harness_memory() -> None:
    """Arrow allocates through glibc here, and glibc returns freed memory at once; every run alike.

    Arrow's default pool (mimalloc or jemalloc) keeps freed memory for reuse, which RSS would
    count as the cache's long after an eviction. glibc by default keeps up to 32 MiB freed at
    the top of its heap, so a load's transient memory (several times a catalog's size) stays in
    RSS: ``tune_allocator`` sets the trim threshold dask/distributed sets for its workers.
    """
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    tune_allocator()


def _warm_up(loaders) -> None:
    """Load one value of each kind and size it every way, then drop it.

    The first load imports reader internals lazily and the first sizing imports pandas' own;
    that memory is nobody's cache.
    """
    for load in loaders:
        value = load()
        for estimate in ESTIMATORS.values():
            estimate(value.value if isinstance(value, Sized) else value)
        del value
    gc.collect()


def _catalog_loaders(spec: dict) -> dict[str, Callable]:
    """Each catalog, read and held through the experiment's layout; warmed up."""
    catalogs = _sources(spec)
    layout = LAYOUTS[spec["layout"]]
    kinds = {}
    for source in catalogs.values():
        kinds.setdefault(source.spec.kind, source)
    _warm_up([lambda s=source: layout(s.load()) for source in kinds.values()])
    return {name: (lambda s=source: layout(s.load())) for name, source in catalogs.items()}


COLUMNS = ("ra", "dec", "z", "mag")


def recorded_value(nbytes: int, fill: float = 1.0) -> pd.DataFrame:
    """A stand-in for a recorded entry (a HATS partition, say): float64 columns of ``nbytes`` in all
    (to within 31 bytes), every page written so that it is resident and RSS sees it."""
    rows = max(1, nbytes // (8 * len(COLUMNS)))
    return pd.DataFrame(np.full((rows, len(COLUMNS)), fill), columns=list(COLUMNS), copy=False)


def _recorded_loaders(spec: dict) -> dict[str, Callable]:
    """Each recorded key's loader: its recorded size as real memory, taking its recorded load time × load_scale
    (or the allocation's own time, if longer); with report_size, returned as Sized(value, recorded size)."""
    scale, report = spec["load_scale"], spec["report_size"]

    def loader(nbytes: int, seconds: float, fill: float) -> Callable:
        def load():
            start = time.perf_counter()
            value = recorded_value(nbytes, fill)
            time.sleep(max(0.0, seconds * scale - (time.perf_counter() - start)))
            return Sized(value, nbytes) if report else value
        return load

    _warm_up([loader(2**16, 0.0, 1.0)])
    return {key: loader(nbytes, seconds, float(i)) for i, (key, (nbytes, seconds)) in enumerate(spec["objects"].items(), 1)}


def _setup(spec: dict):
    """Loaders warmed up, garbage collection fixed, the baseline read and the policy built from the budget."""
    _harness_memory()
    loaders = _recorded_loaders(spec) if "objects" in spec else _catalog_loaders(spec)
    release_memory()
    gc.freeze()  # what exists now is never collected again: collections cost the same in every run
    gc.disable()  # and happen only where this loop (or a policy) asks for one
    probe = RSSProbe()
    baseline = probe()
    table = derive_params(spec["policy"], baseline, spec["budget"])
    return loaders, probe, baseline, policy_from_table(table, "experiment", where=f"[[policies]] {spec['label']!r}")


def _held(cache: Cache, true_sizes: dict | None) -> tuple[int, int | None]:
    """What the cache's entries account for, and the true size of the keys it holds (None when the spec gives no sizes)."""
    return cache.managed_bytes(), None if true_sizes is None else sum(true_sizes.get(key, 0) for key in list(cache))


def _sequential(spec: dict, cache: Cache, loaders: dict, probe: RSSProbe, offset: list) -> tuple[list, list]:
    """One request after another; each request's overhead, sizing and release are its own."""
    rows, accounting = [], []
    previous_t = 0.0
    stats_after = spec.get("stats_after_request", False)
    for t, key in spec["requests"]:
        offset[0] += max(0.0, t - previous_t)  # a pause in the workload, without sleeping through it
        previous_t = t
        before = cache.counters()
        start = time.perf_counter()
        value = cache.get_or_load(key, loaders[key])
        if stats_after:  # the old viewer refreshed its cache statistics after every switch
            cache.stats()
        end = time.perf_counter()
        after = cache.counters()
        hit = after["hits"] > before["hits"]
        overhead = sum(after[k] - before[k] for k in ("probe_seconds", "sizing_seconds", "reclaim_seconds"))
        sizing = after["sizing_seconds"] - before["sizing_seconds"]
        if not hit:
            accounting += _accounted(cache, key)
        drop_start = time.perf_counter()
        del value  # frees it when the cache did not keep it: the release a rejecting policy leaves to its caller
        release = after["release_seconds"] - before["release_seconds"] + time.perf_counter() - drop_start
        gc_start = time.perf_counter()
        release_memory()  # gc.collect() + malloc_trim(0): freed memory leaves RSS the same way in every run
        gc_s = time.perf_counter() - gc_start
        rows.append([t, key, hit, end - start, overhead, sizing, gc_s, probe(), start, end, release,
                     *_held(cache, spec.get("true_sizes"))])  # RSS once settled
    return rows, accounting


def _accounted(cache: Cache, key) -> list[dict]:
    entry = next((e for e in cache.entries() if e["key"] == key), None)
    return [] if entry is None else [{"key": key, "rss_delta": entry["rss_delta_bytes"], "estimated": entry["estimated_bytes"],
                                      "reported": entry.get("reported_bytes")}]


def _threaded(spec: dict, cache: Cache, loaders: dict, probe: RSSProbe) -> tuple[list, list]:
    """The same requests, taken in order by ``threads`` threads at once, so loads overlap as in a served viewer.

    A request is a miss when its thread ran the load or waited for another thread's load of the key
    (a load of it overlapped the request). The cache's counters are shared, so no request's overhead,
    sizing or release is its own: those columns are None. Pauses in the workload are not replayed.
    """
    requests, n = spec["requests"], spec["threads"]
    rows: list = [None] * len(requests)
    loads: list[tuple[str, float, float]] = []
    lock, position = threading.Lock(), iter(range(len(requests)))
    local = threading.local()

    def timed(key: str):
        def load():
            local.loaded, begin = True, time.perf_counter()
            try:
                return loaders[key]()
            finally:
                with lock:
                    loads.append((key, begin, time.perf_counter()))
        return load

    def worker() -> None:
        while True:
            with lock:
                i = next(position, None)
            if i is None:
                return
            t, key = requests[i]
            local.loaded = False
            start = time.perf_counter()
            value = cache.get_or_load(key, timed(key))
            end = time.perf_counter()
            del value
            gc_start = time.perf_counter()
            release_memory()
            gc_s = time.perf_counter() - gc_start
            rows[i] = [t, key, local.loaded, end - start, None, None, gc_s, probe(), start, end, None, *_held(cache, spec.get("true_sizes"))]

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for row in rows:  # column 2 holds "loaded it" until here
        waited = any(k == row[1] and begin <= row[9] and end >= row[8] for k, begin, end in loads)
        row[2] = not (row[2] or waited)
    accounting = [{"key": e["key"], "rss_delta": e["rss_delta_bytes"], "estimated": e["estimated_bytes"], "reported": e.get("reported_bytes")}
                  for e in cache.entries()]
    return rows, accounting


def run(spec: dict) -> dict:
    loaders, probe, baseline, policy = _setup(spec)
    budget = spec["budget"]
    limit = baseline + budget
    offset = [0.0]
    cache = Cache(policy, clock=lambda: time.monotonic() + offset[0], event_log_size=100_000)
    peak_reset = _reset_peak()
    sampler = Sampler()
    sampler.start()
    threads = spec.get("threads", 1)
    rows, accounting = _threaded(spec, cache, loaders, probe) if threads > 1 else _sequential(spec, cache, loaders, probe, offset)
    sampler.stop.set()
    sampler.join()
    times, samples = np.asarray(sampler.times), np.asarray(sampler.rss)
    requests = []
    for i, (t, key, hit, latency, overhead, sizing, gc_s, rss_end, start, end, release, managed, held) in enumerate(rows):
        # The highest RSS while the request ran (sampled) or right after it; one after another, until the next began.
        stop = rows[i + 1][8] if threads == 1 and i + 1 < len(rows) else end
        window = samples[(times >= start) & (times <= stop)]
        requests.append([t, key, hit, latency, overhead, sizing, gc_s, int(max(rss_end, window.max() if len(window) else 0)), rss_end,
                         release, managed, held])
    counters = cache.counters()  # not stats(): that would size every entry once more for the old policy
    reclaimed = [e.bytes for e in cache.events.since(0) if e.kind == "evict" and "RSS given back" in e.detail]
    return {
        "status": "ok", "label": spec["label"], "repetition": spec["repetition"], "budget_bytes": budget,
        "sequence_seed": spec.get("sequence_seed"), "threads": threads,
        "baseline_rss": baseline, "limit": limit, "requests": requests,
        "peak_rss": peak_rss() if peak_reset else None,
        "stats": counters, "params": policy.settings(),
        "hit_path": "checks freshness" if policy.checks_on_hit else "plain",
        "accounting": accounting, "reclaimed": reclaimed,
    }


def truth(spec: dict) -> dict:
    """Each catalog's true size as held: memory Python allocated for it (tracemalloc) plus Arrow's buffers.

    Measured in this fresh process, one catalog at a time, with the value alive and garbage
    collected; independent of every size estimator (deep_size included).
    """
    import pyarrow as pa

    _harness_memory()
    catalogs = _sources(spec)
    layout = LAYOUTS[spec["layout"]]
    _catalog_loaders(spec)  # warm up
    sizes = {}
    tracemalloc.start()
    for name, source in catalogs.items():
        gc.collect()
        traced, arrow = tracemalloc.get_traced_memory()[0], pa.total_allocated_bytes()
        value = layout(source.load())
        gc.collect()
        sizes[name] = tracemalloc.get_traced_memory()[0] - traced + pa.total_allocated_bytes() - arrow
        del value
    tracemalloc.stop()
    return {"sizes": sizes, "method": "tracemalloc + Arrow allocations, one fresh process"}


def main() -> None:
    args = sys.argv[1:]
    mode = truth if args[0] == "--truth" else run
    spec_path, result_path = map(Path, args[-2:])
    result = mode(json.loads(spec_path.read_text()))
    result_path.write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
