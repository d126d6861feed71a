"""A filter on a zoomed-out view of a HATS catalog: the density of the rows that pass, counted per partition.

    .venv/bin/python benchmarks/bench_hats_filtered_density.py --data /tmp/vizcache-large --limit 4GiB

The `large` preset's members (made as in docs/performance.md, "HATS catalogs against the Dask
backend"): every partition is read (ra, dec and z_phot only), filtered on 0.4 <= z_phot <= 0.9
and counted per order-8 HEALPix pixel, through an RSSThresholdLRU cache, as the viewer does on
its reading thread. Reports when the first partial map could be drawn, when the whole map was
done, the same filter again from the cache, and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from vizcache import Cache, RSSThresholdLRU
from vizcache.catalogs.source import OVERVIEW_ORDER, CatalogSource
from vizcache.config import load_config
from vizcache.viewer.filters import RowFilter
from vizcache.viewer.partitions import FilteredCounts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of the large preset (holds large.toml)")
    parser.add_argument("--catalog", default="MEMBERS_HATS")
    parser.add_argument("--limit", default="4GiB")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    config = load_config(args.data / "large.toml")
    source = CatalogSource(config.catalogs[args.catalog])
    hats = source.open_hats()
    cache = Cache(RSSThresholdLRU(limit=args.limit))
    row_filter = RowFilter.of({"z": (0.4, 0.9)}, {"z": (0.0, 3.0)}, keep_unknown_z=False)
    counts = FilteredCounts(cache, hats, OVERVIEW_ORDER, row_filter.columns(), row_filter.mask, str(row_filter), workers=args.workers)
    marks = []
    start = time.perf_counter()
    parts = counts.load(hats.partitions, lambda done, total, _: marks.append((done, time.perf_counter() - start)))
    frame = counts.density(parts)
    total = time.perf_counter() - start
    start = time.perf_counter()
    again = counts.density(counts.load(hats.partitions))
    cached = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    passing = int(frame["rows"].sum())
    print(f"{len(hats.partitions)} partitions, {hats.total_rows:,} rows; {passing:,} pass {row_filter} ({passing / hats.total_rows:.1%})")
    print(f"first partition counted after {marks[0][1]:.2f} s; half after {marks[len(marks) // 2][1]:.1f} s; all after {total:.1f} s "
          f"({hats.total_rows / total / 1e6:.1f} M rows/s)")
    print(f"the same filter again, from the cache: {cached * 1e3:.0f} ms ({int(again['rows'].sum()) == passing and 'same counts'})")
    print(f"cache: {cache.stats().entries} entries, {cache.stats().managed_bytes / 2**20:.1f} MiB; peak RSS {peak:.2f} GiB")


if __name__ == "__main__":
    main()
