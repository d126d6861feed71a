"""A hit of a memoizing decorator, side by side in one run: ``@vizcache.cached`` against ``pn.cache``,
``cachetools.cached`` and ``functools.lru_cache``, with a 1M-row DataFrame argument and with scalar
arguments (issue 23 targets: ≤ 0.5× pn.cache on the frame, ≤ 3× functools.lru_cache on scalars).

    .venv/bin/python benchmarks/bench_cached_hit.py

Each figure is the median of ``--repeats`` batches (each batch's mean per call), with the
batches' 25th–75th percentiles as the spread. The decorators take turns batch by batch, so a
burst of load on a shared machine falls on all of them alike.
"""

import argparse
import functools
import statistics
import threading
import time

import cachetools
import numpy as np
import pandas as pd
import panel as pn

import vizcache


def frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"ra": rng.uniform(0, 360, rows), "dec": rng.uniform(-90, 90, rows),
                         "z": rng.uniform(0, 2, rows).astype("float32"), "id": np.arange(rows, dtype="int64")})


def decorators() -> dict:
    """The decorated functions; None where a decorator cannot take the argument (a DataFrame is unhashable)."""
    def work(a, b=None):
        return 1

    return {
        "functools.lru_cache": functools.lru_cache(maxsize=128)(work),
        "cachetools.cached(LRUCache, lock)": cachetools.cached(cachetools.LRUCache(maxsize=128), lock=threading.Lock())(work),
        "pn.cache": pn.cache(max_items=128)(work),
        "vizcache.cached": vizcache.cached(work),
    }


def timed(calls: dict, per_batch: int, repeats: int) -> dict:
    """{name: (median, p25, p75)} seconds per call, batches interleaved across the decorators."""
    samples: dict = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(per_batch):
                call()
            samples[name].append((time.perf_counter() - start) / per_batch)
    out = {}
    for name, values in samples.items():
        q = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
        out[name] = (statistics.median(values), q[0], q[2])
    return out


def hashable(fn, *args) -> bool:
    try:
        fn(*args)
    except TypeError:
        return False
    return True


def table(title: str, results: dict, skipped: list, reference: str) -> str:
    ref = results[reference][0]
    lines = [f"\n{title}\n", f"| decorator | hit, median µs | spread (p25–p75) µs | × {reference} |", "|---|---|---|---|"]
    for name, (median, lo, hi) in results.items():
        lines.append(f"| {name} | {median * 1e6:,.2f} | {lo * 1e6:,.2f}–{hi * 1e6:,.2f} | {median / ref:.2f} |")
    lines += [f"| {name} | cannot take it (unhashable argument) | | |" for name in skipped]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the DataFrame argument")
    parser.add_argument("--repeats", type=int, default=15, help="batches per decorator and argument")
    args = parser.parse_args()

    funcs = decorators()
    for fn in funcs.values():
        fn(42, "north")  # the first call loads: what follows are hits
    calls = {name: (lambda fn=fn: fn(42, "north")) for name, fn in funcs.items()}
    # The floor under vizcache.cached's hit: its shared cache's own thread-safe hit (lock, LRU move,
    # counters) with the key already built, no decorator.
    cache, key = funcs["vizcache.cached"].cache, next(k for k in funcs["vizcache.cached"].cache if k[1:] == (42, "north"))
    calls["(vizcache Cache.get_or_load hit alone)"] = lambda: cache.get_or_load(key, int)
    scalar = timed(calls, 20_000, args.repeats)
    print(table("Scalar arguments: f(42, 'north')", scalar, [], "functools.lru_cache"))

    df = frame(args.rows)
    takes = {name: fn for name, fn in funcs.items() if hashable(fn, df)}
    big = timed({name: (lambda fn=fn: fn(df)) for name, fn in takes.items()}, 10, args.repeats)
    print(table(f"A {args.rows:,}-row DataFrame argument (4 columns, {df.memory_usage().sum() / 2**20:.0f} MiB): f(df)",
                big, [name for name in funcs if name not in takes], "pn.cache"))
    print(f"\nvizcache.cached / pn.cache on the frame: {big['vizcache.cached'][0] / big['pn.cache'][0]:.2f} (target ≤ 0.5); "
          f"vizcache.cached / functools.lru_cache on scalars: "
          f"{scalar['vizcache.cached'][0] / scalar['functools.lru_cache'][0]:.2f} (target ≤ 3)")


if __name__ == "__main__":
    main()
