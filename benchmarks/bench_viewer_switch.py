"""Server-side switch latency: a cached catalog to its new aggregate, through the viewer's pipeline.

    .venv/bin/python benchmarks/bench_viewer_switch.py [--sizes 1000000 10000000 30000000] [--switches 9]

Two catalogs of each size (member-like points in the survey footprint) are loaded once; then
the SkyMap switches between them and renders the new aggregate each time; medians are quoted.
Cluster catalogs are timed with the pixel hover on (its brightest-cluster selector), at 200K points (the BOTH size).
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vizcache.catalogs.generate import _uniform_in_footprint
from vizcache.config import load_config
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap


def write_points(path: Path, n: int, seed: int, kind: str) -> None:
    rng = np.random.default_rng(seed)
    ra, dec = _uniform_in_footprint(rng, n)
    if kind == "members":
        table = {"ID_UNIQUE_CLUSTER": np.arange(n), "RIGHT_ASCENSION_GALAXY": ra, "DECLINATION_GALAXY": dec,
                 "Z_PHOT_GALAXY": rng.uniform(0, 2, n).astype("f4"), "PMEM": rng.uniform(0, 1, n).astype("f4")}
    else:
        table = {"ID_UNIQUE_CLUSTER": np.arange(n), "RIGHT_ASCENSION_CLUSTER": ra, "DECLINATION_CLUSTER": dec,
                 "Z_CLUSTER": rng.uniform(0.1, 2, n), "SNR_CLUSTER": rng.lognormal(1.8, 0.3, n)}
    pq.write_table(pa.table(table), path, row_group_size=1_000_000)


def fail(message: str) -> None:
    raise RuntimeError(message)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000, 30_000_000])
    parser.add_argument("--switches", type=int, default=9)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vizcache-switch-"))
    cases = [("clusters", 200_000)] + [("members", n) for n in args.sizes]
    lines = ['[policy]\nname = "AgeBased"\nmax_age = 86400\nmax_idle = 86400\n[data]\nfolders = ["."]\n']
    for kind, n in cases:
        for side in "AB":
            write_points(root / f"{kind}{n}{side}.parquet", n, seed=hash((n, side)) % 1000, kind=kind)
            columns = "" if kind == "members" else ('columns = { id = "ID_UNIQUE_CLUSTER", ra = "RIGHT_ASCENSION_CLUSTER", '
                                                    'dec = "DECLINATION_CLUSTER", z = "Z_CLUSTER", snr = "SNR_CLUSTER" }\n')
            lines.append(f'[catalogs.{kind}{n}{side}]\nfiles = "{kind}{n}{side}.parquet"\nkind = "{kind}"\n{columns}')
    (root / "bench.toml").write_text("\n".join(lines))
    runtime = ViewerRuntime(load_config(root / "bench.toml"), sample_every=60)
    print("| points | kind | switch to cached catalog + new aggregate, median ms | min ms | cache hits |\n|---|---|---|---|---|")
    for kind, n in cases:
        a, b = f"{kind}{n}A", f"{kind}{n}B"
        # The switch aggregates the new catalog for the map before it returns.
        sky = SkyMap(runtime=runtime, catalog=a, notify=fail, pixel_hover=kind == "clusters")
        sky.catalog = b  # both loaded and aggregated once: from here on every switch is a cache hit
        hits_before = runtime.cache.stats()["hits"]
        samples = []
        for i in range(args.switches):
            start = time.perf_counter()
            sky.catalog = a if i % 2 == 0 else b
            samples.append(time.perf_counter() - start)
        hits = runtime.cache.stats()["hits"] - hits_before
        print(f"| {n:,} | {kind}{' (with hover selector)' if kind == 'clusters' else ''} | {statistics.median(samples) * 1e3:.0f} | {min(samples) * 1e3:.0f} | {hits}/{args.switches} |")
        for name in (a, b):
            runtime.cache.invalidate(runtime._keys[name])


if __name__ == "__main__":
    main()
