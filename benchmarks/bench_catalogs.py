"""Catalog benchmarks: generator throughput, load cost per format, pandas against Dask.

    .venv/bin/python benchmarks/bench_catalogs.py [--workdir /tmp/vizcache-bench] [--dask-clusters 1000000]

Pandas against Dask: each runs in its own process and aggregates the member catalog into a
900x450 RA/Dec grid (what the sky map does); the kernel's peak RSS (VmHWM) is reported.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits

from vizcache.catalogs.generate import Preset, generate
from vizcache.catalogs.source import CatalogSource, CatalogSpec
from vizcache.memory import RSSProbe
from vizcache.units import format_bytes

AGGREGATE = r'''
import sys, time, numpy as np
from pathlib import Path
from vizcache.catalogs.source import CatalogSource, CatalogSpec
from vizcache.memory import peak_rss
folder, backend = Path(sys.argv[1]), sys.argv[2]
spec = CatalogSpec("M", "members", (str(folder / "members-*.parquet"),), (folder,), backend=backend)
start = time.perf_counter()
data = CatalogSource(spec).load().data
if backend == "dask":
    grid = np.zeros((900, 450))  # one partition in memory at a time
    for part in data.to_delayed():
        p = part.compute()
        grid += np.histogram2d(p["ra"], p["dec"], bins=(900, 450), range=((0, 360), (-90, 90)))[0]
        del p
else:
    grid = np.histogram2d(data["ra"], data["dec"], bins=(900, 450), range=((0, 360), (-90, 90)))[0]
print(f"{time.perf_counter() - start} {peak_rss()} {int(grid.sum())}")
'''


def bench_generator(workdir: Path) -> None:
    start = time.perf_counter()
    result = generate(workdir / "default", "default", seed=1)
    seconds = time.perf_counter() - start
    print(f"| generator, preset default | {result.total_rows:,} rows | {seconds:.1f} s | {result.total_rows / seconds / 1e6:.2f} M rows/s |")


def bench_formats(workdir: Path, rows: int = 1_000_000) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"RIGHT_ASCENSION_CLUSTER": rng.uniform(0, 360, rows), "DECLINATION_CLUSTER": rng.uniform(-60, 60, rows),
                       "Z_CLUSTER": rng.uniform(0.1, 2, rows), "SNR_CLUSTER": rng.uniform(3, 20, rows)})
    folder = workdir / "formats"
    folder.mkdir(parents=True, exist_ok=True)
    df.to_parquet(folder / "c.parquet")
    df.to_csv(folder / "c.csv", index=False)
    fits.BinTableHDU.from_columns([fits.Column(name=c, format="D", array=df[c].to_numpy()) for c in df]).writeto(folder / "c.fits", overwrite=True)
    mapping = {"ra": "RIGHT_ASCENSION_CLUSTER", "dec": "DECLINATION_CLUSTER", "z": "Z_CLUSTER", "snr": "SNR_CLUSTER"}
    probe = RSSProbe()
    print("\n| format | load, median s per 1M rows | in memory per 1M rows | RSS growth during load |\n|---|---|---|---|")
    for fmt in ("parquet", "fits", "csv"):
        spec = CatalogSpec("C", "clusters", (str(folder / f"c.{fmt}"),), (folder,), columns=mapping)
        samples, grown, size = [], [], 0
        for _ in range(3):
            before = probe()
            start = time.perf_counter()
            cat = CatalogSource(spec).load()
            samples.append(time.perf_counter() - start)
            grown.append(probe() - before)
            size = cat.memory_bytes()
            del cat
        scale = 1_000_000 / rows
        print(f"| {fmt} | {statistics.median(samples) * scale:.3f} | {format_bytes(size * scale)} | {format_bytes(statistics.median(grown) * scale)} |")


def bench_pandas_vs_dask(workdir: Path, clusters: int) -> None:
    folder = workdir / "big"
    result = generate(folder, Preset(true_clusters=clusters, members_per_richness=2.0, rows_per_file=2_000_000, row_group_rows=500_000), seed=3)
    rows = result.rows["members"]
    print(f"\nmember catalog: {rows:,} rows in {len(result.files['members'])} files; aggregate to 900x450, one process each\n")
    print("| backend | seconds | peak RSS | points counted |\n|---|---|---|---|")
    for backend in ("pandas", "dask"):
        proc = subprocess.run([sys.executable, "-c", AGGREGATE, str(folder / "members"), backend], capture_output=True, text=True, check=True)
        seconds, peak, counted = proc.stdout.split()
        print(f"| {backend} | {float(seconds):.1f} | {format_bytes(int(peak))} | {int(counted):,} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--dask-clusters", type=int, default=1_000_000, help="true clusters for the pandas/Dask run (1M: ~45M member rows)")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="vizcache-bench-"))
    print("| what | rows | time | throughput |\n|---|---|---|---|")
    bench_generator(workdir)
    bench_formats(workdir)
    bench_pandas_vs_dask(workdir, args.dask_clusters)


if __name__ == "__main__":
    main()
