"""A HATS catalog's filtered density as the viewer computes it: in the web process's threads, and on the ``[dask]``
data tier (a LocalCluster through LSDB), side by side, with the results checked equal.

    .venv/bin/python benchmarks/bench_data_tier.py --hats /tmp/vizcache-large/hats/members [--workers 2] [--repeats 2]
                                                   [--memory-limit 3GiB]

The filter is the sidebar's redshift range 0.4 ≤ z ≤ 0.9 on a members catalog (``z_phot``); every partition is
counted per HEALPix order-8 pixel (the zoomed-out map's aggregate), into a fresh cache each time (no hit). The
in-process path is viewer/partitions.py's FilteredCounts with the HATS layer's 4 reader threads; the tier's is
ClusterCounts on a LocalCluster of ``--workers`` processes × 1 thread. Alternating, medians (min–max) of
``--repeats``; the load average at the start is printed (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vizcache import AgeBased, Cache  # noqa: E402
from vizcache.catalogs.lsdb_tier import DaskSettings, DataTier  # noqa: E402
from vizcache.catalogs.source import OVERVIEW_ORDER, CatalogSource, CatalogSpec  # noqa: E402
from vizcache.viewer.filters import RowFilter  # noqa: E402
from vizcache.viewer.partitions import ClusterCounts, FilteredCounts  # noqa: E402

Z = (0.4, 0.9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hats", type=Path, required=True, help="a HATS members catalog (vizcache partition's output)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--memory-limit", default="3GiB")
    args = parser.parse_args()

    spec = CatalogSpec("MEMBERS", "members", (str(args.hats),), (args.hats.parent,), format="hats")
    hats = CatalogSource(spec).open_hats()
    row_filter = RowFilter.of({"z": Z}, {"z": (0.0, 3.0)}, keep_unknown_z=False).only(hats.mapping)
    tier = DataTier(DaskSettings("local", workers=args.workers, threads_per_worker=1, memory_limit=args.memory_limit))
    tier.client()  # the cluster's start is not a count's cost
    print(f"{hats.total_rows:,} rows in {len(hats.partitions)} partitions; load average at start {os.getloadavg()[0]:.1f}; "
          f"cluster: {args.workers} worker processes × 1 thread", flush=True)

    def run(kind: str) -> tuple[float, pd.DataFrame]:
        cache = Cache(AgeBased(max_age=3600))
        common = (hats, OVERVIEW_ORDER, row_filter.columns(), row_filter.mask, row_filter.signature())
        counts = FilteredCounts(cache, *common, workers=4) if kind == "in-process" else ClusterCounts(tier, cache, *common)
        start = time.perf_counter()
        density = counts.density(counts.load(hats.partitions))
        return time.perf_counter() - start, density

    times: dict[str, list[float]] = {"in-process": [], "data tier": []}
    results = {}
    try:
        for _ in range(args.repeats):
            for kind in times:
                seconds, results[kind] = run(kind)
                times[kind].append(seconds)
                print(f"  {kind}: {seconds:.1f} s, {int(results[kind]['rows'].sum()):,} rows pass", flush=True)
        pd.testing.assert_frame_equal(results["data tier"], results["in-process"])
    finally:
        tier.close()
    print("| path | seconds, median (min–max) | rows passing |\n|---|---|---|")
    for kind, runs in times.items():
        print(f"| {kind} | {statistics.median(runs):.1f} ({min(runs):.1f}–{max(runs):.1f}) | {int(results[kind]['rows'].sum()):,} |")
    print("equal: yes (every pixel's count)")


if __name__ == "__main__":
    main()
