"""HATS against the Dask backend on the same member catalog: first paint, pan/zoom, RSS.

    .venv/bin/vizcache generate --preset large --out /tmp/vizcache-large --hats
    .venv/bin/python benchmarks/bench_hats.py --data /tmp/vizcache-large [--steps 100] [--limit 4GiB] [--dask-views 3] [--trace T.jsonl]

Each part runs in its own process (imports done before the clock starts; the first paint is a
fresh process's first view). A view is what the sky map does server-side for an RA/Dec box:
find the rows (HATS: the partitions in view through the cache, or the skymap density when they
hold more than ``max_points`` rows; Dask: the lazy frame of every file) and aggregate them
into 900x450 pixels with datashader. Browser time is not included.

The scripted session: 100 pan/zoom steps, fields 2-10 degrees wide, inside the generated
survey patches (with jumps between patches), under ``RSSThresholdLRU(limit)``; a step is
"cached" when every partition it needs was in the cache before it.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

SESSION = r'''
import json, sys, time
import numpy as np
import datashader as ds
from pathlib import Path
from vizcache import Cache, RSSThresholdLRU
from vizcache.catalogs.source import CatalogSource, CatalogSpec
from vizcache.catalogs.generate import PATCHES
from vizcache.memory import RSSProbe, peak_rss
from vizcache.units import parse_bytes
from vizcache.viewer.hats_layer import DENSITY, HatsLayer

data, part, steps, limit, dask_views, trace = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6]


def views(n, seed=5):
    """A deterministic pan/zoom walk: fields 2-10 deg wide inside the survey patches."""
    rng = np.random.default_rng(seed)
    out, patch = [], PATCHES[0]
    ra, dec, width = (patch[1] + 10) % 360, (patch[3] + patch[4]) / 2, 8.0
    for i in range(n):
        move = rng.uniform()
        if move < 0.08:  # jump to another patch
            patch = PATCHES[rng.integers(len(PATCHES))]
            ra = (patch[1] + rng.uniform(0, (patch[2] - patch[1]) % 360)) % 360
            dec = rng.uniform(patch[3], patch[4])
        elif move < 0.35:  # zoom
            width = float(np.clip(width * rng.choice([0.5, 2.0]), 2.0, 10.0))
        else:  # pan by a third to a whole field
            ra = (ra + rng.uniform(-1, 1) * width) % 360
            dec = float(np.clip(dec + rng.uniform(-0.5, 0.5) * width / 2, -85, 85))
        out.append(((ra - width / 2, ra + width / 2), (dec - width / 4, dec + width / 4)))
    return out


def aggregate(frame, x_range, y_range, column=None):
    canvas = ds.Canvas(plot_width=900, plot_height=450, x_range=x_range, y_range=y_range)
    agg = canvas.points(frame, "ra", "dec", ds.mean(column) if column else ds.count())
    return float(np.nansum(agg.values))


# Warm-up, before any clock: numba compiles datashader's reductions on first use (~1-2 s), and
# hats, mocpy and cdshealpix import lazily. A served viewer has done both before its first paint.
import hats, mocpy, cdshealpix  # noqa: E401,F401
import pandas as pd
_tiny = pd.DataFrame({"ra": np.float32([1, 2]), "dec": np.float32([1, 2]), DENSITY: np.float32([1, 2])})
aggregate(_tiny, (0.0, 360.0), (-90.0, 90.0), DENSITY), aggregate(_tiny, (0.0, 360.0), (-90.0, 90.0))

members = CatalogSpec("M", "members", (str(data / "members" / "members-*.parquet"),), (data,), backend="dask")
hats_spec = CatalogSpec("MH", "members", (str(data / "hats" / "members"),), (data,), format="hats")
probe = RSSProbe()
result = {}

if part == "first-paint-hats":
    start = time.perf_counter()
    catalog = CatalogSource(hats_spec).load()  # the density overview: properties + skymap, no row
    aggregate(catalog.data, (0.0, 360.0), (-90.0, 90.0), DENSITY)
    result = {"seconds": time.perf_counter() - start, "points": len(catalog.data), "rows": catalog.hats.total_rows}

elif part == "first-paint-dask":
    start = time.perf_counter()
    catalog = CatalogSource(members).load()
    counted = aggregate(catalog.data, (0.0, 360.0), (-90.0, 90.0))
    result = {"seconds": time.perf_counter() - start, "rows": counted, "peak_rss": peak_rss()}

elif part == "session-hats":
    cache = Cache(RSSThresholdLRU(limit=parse_bytes(limit)), trace=trace or None)
    catalog = CatalogSource(hats_spec).load()
    layer = HatsLayer(cache, catalog)
    frame, rows = catalog.data, []
    for x_range, y_range in views(steps):
        want, pixels = layer.wanted("RA/Dec", x_range, y_range)
        cached = want == DENSITY or layer.loader.cached(pixels) == len(pixels)
        start = time.perf_counter()
        new = layer.frame_for("RA/Dec", x_range, y_range)
        frame = frame if new is None else new
        aggregate(frame, x_range, y_range, DENSITY if DENSITY in frame.columns else None)
        rows.append({"seconds": time.perf_counter() - start, "cached": cached, "partitions": len(pixels),
                     "rows": len(frame) if want != DENSITY else 0, "rss": probe()})
    cache.close()  # flushes the trace
    result = {"steps": rows, "stats": {k: v for k, v in cache.stats().items() if isinstance(v, (int, float))},
              "peak_rss": peak_rss(), "limit": parse_bytes(limit), "partitions": len(catalog.hats.partitions)}

elif part == "session-dask":
    catalog = CatalogSource(members).load()
    rows = []
    for x_range, y_range in views(steps)[:dask_views]:
        start = time.perf_counter()
        aggregate(catalog.data, x_range, y_range)
        rows.append({"seconds": time.perf_counter() - start, "rss": probe()})
    result = {"steps": rows, "peak_rss": peak_rss()}

print(json.dumps(result))
'''


def run(part: str, args) -> dict:
    out = subprocess.run([sys.executable, "-c", SESSION, str(args.data), part, str(args.steps), args.limit, str(args.dask_views),
                          str(args.trace or "")],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def ratio_ci(slow: list[float], fast: list[float], resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of median(slow) / median(fast), each group resampled on its own."""
    rng = np.random.default_rng(seed)
    a, b = np.asarray(slow), np.asarray(fast)
    ratios = np.median(rng.choice(a, (resamples, len(a))), axis=1) / np.median(rng.choice(b, (resamples, len(b))), axis=1)
    return float(np.percentile(ratios, 2.5)), float(np.percentile(ratios, 97.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("/tmp/vizcache-large"), help="folder written by `vizcache generate --hats`")
    parser.add_argument("--steps", type=int, default=100, help="pan/zoom steps of the scripted session")
    parser.add_argument("--limit", default="4GiB", help="RSSThresholdLRU limit for the session")
    parser.add_argument("--dask-views", type=int, default=5, help="views of the same session timed with the Dask backend (0: no Dask runs)")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes for each first paint")
    parser.add_argument("--trace", type=Path, help="record the HATS session's cache accesses (JSON Lines) for `vizcache compare`")
    args = parser.parse_args()

    for backend in ("hats", "dask") if args.dask_views else ("hats",):
        runs = [run(f"first-paint-{backend}", args) for _ in range(args.repeats if backend == "hats" else 1)]
        seconds = [r["seconds"] for r in runs]
        print(f"all-sky first paint, {backend}: median {statistics.median(seconds):.3f} s of {len(seconds)} fresh processes "
              f"({', '.join(f'{s:.3f}' for s in seconds)}); {json.dumps({k: v for k, v in runs[0].items() if k != 'seconds'})}")

    hats = run("session-hats", args)
    steps = hats["steps"]
    for label, chosen in (("partitions cached", [s for s in steps if s["cached"]]), ("partitions read", [s for s in steps if not s["cached"]])):
        if chosen:
            ms = [1000 * s["seconds"] for s in chosen]
            print(f"HATS pan/zoom, {label}: {len(ms)} steps, median {statistics.median(ms):.0f} ms, p95 {p95(ms):.0f} ms, max {max(ms):.0f} ms")
    print(f"HATS session: {hats['partitions']} partitions in the catalog; per view {statistics.median([s['partitions'] for s in steps]):.0f} "
          f"partitions and {statistics.median([s['rows'] for s in steps]):,.0f} rows (median); max RSS after a step "
          f"{max(s['rss'] for s in steps) / 2**30:.2f} GiB, peak (VmHWM) {hats['peak_rss'] / 2**30:.2f} GiB, limit {hats['limit'] / 2**30:.2f} GiB")
    stats = hats["stats"]
    print("HATS cache: " + ", ".join(f"{k} {stats[k]:,}" for k in ("hits", "misses", "loads", "evictions", "rejections") if k in stats))

    if not args.dask_views:
        return
    dask = run("session-dask", args)
    ms = [1000 * s["seconds"] for s in dask["steps"]]
    print(f"Dask backend, the first {len(ms)} views of the same session: median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms; "
          f"peak RSS {dask['peak_rss'] / 2**30:.2f} GiB")
    hats_first = [1000 * s["seconds"] for s in steps[: len(ms)]]
    low, high = ratio_ci(ms, hats_first)
    print(f"HATS, the same first {len(ms)} views, from an empty cache: median {statistics.median(hats_first):.0f} ms; Dask/HATS "
          f"median ratio {statistics.median(ms) / statistics.median(hats_first):.0f}x (95% bootstrap CI {low:.0f}x-{high:.0f}x)")

if __name__ == "__main__":
    main()
