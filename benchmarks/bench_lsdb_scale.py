"""A HATS catalog on a Dask LocalCluster through LSDB at growing sizes, and the cost projected to 10⁹ rows.

    .venv/bin/python benchmarks/bench_lsdb_scale.py --hats /tmp/vizcache-large/hats/members [--fractions 0.125 0.25 0.5 1]
                                                    [--repeats 3] [--workers 2] [--memory-limit 3GiB] [--json out.json]

The catalog is cut to the first fraction of its partitions (in HEALPix order: a contiguous piece
of sky; rows counted exactly from the partitions' Parquet footers). For each size, on a
``distributed.LocalCluster`` (``--workers`` processes × 1 thread) through ``lsdb``:

* **open**: ``lsdb.open_catalog`` with the three columns and ``pixel_search`` to the partitions (metadata only);
* **filtered count**: ``query("0.4 <= z <= 0.9")`` over every partition, rows counted on the workers;
* **density**: that filter's rows counted per HEALPix order-8 pixel (the zoomed-out map's aggregate);
* **cone**: a 5°-wide cone search (2.5° radius) at the first partition's centre, rows counted.

Each filtered count is checked against a plain pyarrow count of the same partition files. Timings
are medians of ``--repeats`` (min–max); "cluster RSS" is the peak of the workers' summed RSS,
sampled every 0.1 s. Then cost = a + b·rows is fitted (least squares) to the medians of the filtered
count and the density, and evaluated at 10⁹ rows: a projection on this machine's cores, labelled so.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

COLUMNS = ("RIGHT_ASCENSION_GALAXY", "DECLINATION_GALAXY", "Z_PHOT_GALAXY")
Z_LOW, Z_HIGH = 0.4, 0.9
DENSITY_ORDER = 8
PROJECT_TO = 1_000_000_000


def partition_file(root: Path, order: int, pixel: int) -> Path:
    return root / "dataset" / f"Norder={order}" / f"Dir={pixel // 10_000 * 10_000}" / f"Npix={pixel}.parquet"


def partitions(root: Path) -> list[tuple[int, int, int]]:
    """(order, pixel, rows) of every partition, in HEALPix order (nested, at order 29), rows from the footers."""
    import hats

    pixels = sorted(hats.read_hats(root).get_healpix_pixels(), key=lambda p: p.pixel << 2 * (29 - p.order))
    return [(p.order, p.pixel, pq.read_metadata(partition_file(root, p.order, p.pixel)).num_rows) for p in pixels]


def direct_count(root: Path, chosen: list[tuple[int, int, int]]) -> int:
    """The filtered count with pyarrow alone, file by file: what LSDB's must equal."""
    total = 0
    for order, pixel, _ in chosen:
        z = pq.read_table(partition_file(root, order, pixel), columns=[COLUMNS[2]])[COLUMNS[2]]
        total += pc.sum(pc.and_(pc.greater_equal(z, Z_LOW), pc.less_equal(z, Z_HIGH))).as_py() or 0
    return total


def fit_line(rows: list[float], seconds: list[float]) -> tuple[float, float, list[float]]:
    """(a, b, residuals) of seconds = a + b·rows by least squares."""
    design = np.column_stack([np.ones(len(rows)), np.asarray(rows, dtype=float)])
    (a, b), *_ = np.linalg.lstsq(design, np.asarray(seconds, dtype=float), rcond=None)
    return float(a), float(b), [float(s - (a + b * r)) for r, s in zip(rows, seconds)]


class ClusterRSS:
    """The peak of the cluster's worker processes' summed RSS while running."""

    def __init__(self, pids: list[int]) -> None:
        import psutil

        self.processes = [psutil.Process(p) for p in pids]
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(p.memory_info().rss for p in self.processes if p.is_running()))
            self._stop.wait(0.1)

    def __enter__(self) -> ClusterRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def rows_of(catalog) -> int:
    """Rows of an LSDB catalog, counted on the workers (a search may leave no partition at all)."""
    frame = catalog.to_dask_dataframe()
    return int(sum(frame.map_partitions(len).compute())) if frame.npartitions else 0


def measure(root: Path, chosen: list[tuple[int, int, int]], cone_at: tuple[float, float]) -> dict:
    """One run of the four operations over ``chosen`` partitions on the current default Dask client."""
    import lsdb
    import pandas as pd

    times = {}
    start = time.perf_counter()
    catalog = lsdb.open_catalog(root, columns=list(COLUMNS)).pixel_search([(o, p) for o, p, _ in chosen])
    times["open"] = time.perf_counter() - start

    start = time.perf_counter()
    passing = catalog.query(f"{Z_LOW} <= {COLUMNS[2]} <= {Z_HIGH}")
    count = rows_of(passing)
    times["filtered count"] = time.perf_counter() - start

    shift = 2 * (29 - DENSITY_ORDER)

    def per_pixel(frame: pd.DataFrame) -> pd.Series:
        return pd.Series(frame.index.to_numpy() >> shift).value_counts()

    start = time.perf_counter()
    parts = passing.to_dask_dataframe().map_partitions(per_pixel, meta=pd.Series(dtype="int64", name="count")).compute()
    density = parts.groupby(level=0).sum()
    times["density"] = time.perf_counter() - start

    start = time.perf_counter()
    cone = catalog.cone_search(cone_at[0], cone_at[1], radius_arcsec=2.5 * 3600)
    cone_rows = rows_of(cone)
    times["cone"] = time.perf_counter() - start
    return {"times": times, "count": count, "density_total": int(density.sum()), "pixels": len(density), "cone_rows": cone_rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hats", type=Path, required=True, help="a HATS catalog of member galaxies (vizcache generate --hats)")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.125, 0.25, 0.5, 1.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="3GiB", help="each worker's memory limit")
    parser.add_argument("--json", type=Path, help="also write the raw timings here")
    args = parser.parse_args()

    import os

    from distributed import Client, LocalCluster

    every = partitions(args.hats)
    first = every[0]
    ra_dec = pq.read_table(partition_file(args.hats, first[0], first[1]), columns=list(COLUMNS[:2]))
    cone_at = (float(pc.approximate_median(ra_dec[COLUMNS[0]]).as_py()), float(pc.approximate_median(ra_dec[COLUMNS[1]]).as_py()))
    load_start = os.getloadavg()
    results = []
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, memory_limit=args.memory_limit, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        measure(args.hats, every[:1], cone_at)  # imports and the first task graph on every worker, once
        for fraction in args.fractions:
            chosen = every[: max(1, math.ceil(fraction * len(every)))]
            rows = sum(r for _, _, r in chosen)
            expected = direct_count(args.hats, chosen)
            runs = []
            with ClusterRSS(pids) as rss:
                for _ in range(args.repeats):
                    run = measure(args.hats, chosen, cone_at)
                    if run["count"] != expected or run["density_total"] != expected:
                        raise SystemExit(f"{len(chosen)} partitions: LSDB counted {run['count']} ({run['density_total']} by pixel), "
                                         f"pyarrow {expected}")
                    runs.append(run)
            results.append({"fraction": fraction, "partitions": len(chosen), "rows": rows, "passing": expected,
                            "cluster_rss_peak": rss.peak, "runs": runs})
    load_end = os.getloadavg()

    print(f"{args.workers} worker processes × 1 thread, memory_limit {args.memory_limit}; load average "
          f"{load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end\n")
    print("| partitions | rows | passing the filter | open s | filtered count s | density s | cone s (rows) | rows/s (count) | cluster RSS peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    medians = {}
    for r in results:
        cells = []
        for op in ("open", "filtered count", "density", "cone"):
            values = [run["times"][op] for run in r["runs"]]
            medians.setdefault(op, []).append(statistics.median(values))
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})")
        cells[3] += f" ({r['runs'][0]['cone_rows']:,})"
        print(f"| {r['partitions']} | {r['rows']:,} | {r['passing']:,} (pyarrow: equal) | {' | '.join(cells)} | "
              f"{r['rows'] / medians['filtered count'][-1] / 1e6:.1f} M | {r['cluster_rss_peak'] / 2**20:,.0f} |")
    rows = [r["rows"] for r in results]
    print(f"\nProjected to {PROJECT_TO:,} rows (a line through the measured medians; not measured):\n")
    print("| operation | a (s) | b (s per 10⁶ rows) | residuals (s) | projected at 10⁹ rows, these cores |")
    print("|---|---|---|---|---|")
    fits = {}
    for op in ("filtered count", "density"):
        a, b, residuals = fit_line(rows, medians[op])
        fits[op] = {"a": a, "b": b, "residuals": residuals, "projected_seconds": a + b * PROJECT_TO}
        print(f"| {op} | {a:.2f} | {b * 1e6:.3f} | {', '.join(f'{x:+.2f}' for x in residuals)} | "
              f"**{(a + b * PROJECT_TO) / 60:.1f} min** (projected) |")
    if args.json:
        args.json.write_text(json.dumps({"workers": args.workers, "memory_limit": args.memory_limit, "load_average": [load_start, load_end],
                                         "results": results, "fits": fits}, indent=1))


if __name__ == "__main__":
    main()
