"""Three arms on the old viewer's own terms: its RSS fix (LegacyRSSManager), and vizcache's
RSSThresholdLRU with the lru and s3fifo orders — stationary and shifting workloads.

    .venv/bin/python benchmarks/bench_rss_arms.py            # 5 repetitions per cell
    .venv/bin/python benchmarks/bench_rss_arms.py --reps 3 --no-viewer-libs

Each run is a fresh process that imports the viewer's libraries (panel, holoviews, bokeh) and
keeps ~200K small live objects, then replays 80 requests over 120 MB catalogs against a limit
of baseline + 900 MiB: "stationary" is zipf over 8 catalogs; "shift" is zipf over 8 catalogs,
then over 8 others from the 41st request on. The same seeds drive every arm. Overhead per
request is the policy's own time (RSS probes, sizing, eviction and reclaim), not the load's.
Medians with 95 % bootstrap intervals (scipy) over repetitions.
"""

import argparse
import json
import subprocess
import sys

import numpy as np

MiB = 2**20
ARMS = ("legacy", "vizcache-lru", "vizcache-s3fifo")
WORKLOADS = ("stationary", "shift")
CATALOG_BYTES = 120 * 10**6


def requests(workload: str, seed: int, n: int = 80, catalogs: int = 8) -> list[int]:
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, catalogs + 1)
    picks = rng.choice(catalogs, size=n, p=weights / weights.sum())
    if workload == "shift":
        picks[n // 2:] += catalogs  # the hot set moves to 8 other catalogs halfway
    return picks.tolist()


def run_one(arm: str, workload: str, seed: int, viewer_libs: bool) -> dict:
    import gc
    import time

    if viewer_libs:
        import bokeh  # noqa: F401
        import holoviews  # noqa: F401
        import panel  # noqa: F401
    heap = [{"i": i, "tag": str(i)} for i in range(200_000)]  # noqa: F841 - sessions' live objects
    from vizcache import Cache, LegacyRSSManager, RSSThresholdLRU
    from vizcache.memory import RSSProbe, prepare_process_memory

    if arm != "legacy":  # as docs/performance.md's figures were measured: the RSS policy's process tuned glibc
        prepare_process_memory()
    gc.collect()
    probe = RSSProbe()
    limit = probe() + 900 * MiB
    policy = (LegacyRSSManager(limit=limit) if arm == "legacy"
              else RSSThresholdLRU(limit=limit, order=arm.split("-")[1]))
    cache = Cache(policy, rss_probe=probe)
    overheads, peak_over = [], -limit

    def overhead_seconds() -> float:
        c = cache.counters()
        return c["probe_seconds"] + c["sizing_seconds"] + c["reclaim_seconds"]

    for key in requests(workload, seed):
        before = overhead_seconds()
        value = cache.get_or_load(key, lambda: np.ones(CATALOG_BYTES // 8))
        overheads.append((overhead_seconds() - before) * 1e3)
        peak_over = max(peak_over, probe() - limit)
        del value
        time.sleep(0)
    s = cache.stats()
    return {"hit_ratio": s["hit_ratio"], "p95_overhead_ms": float(np.percentile(overheads, 95)),
            "peak_over_limit_mib": peak_over / MiB, "evictions": s["evictions"], "rejections": s["rejections"]}


def ci(values: list[float]) -> tuple[float, float, float]:
    from scipy.stats import bootstrap

    values = np.asarray(values, dtype=float)
    if np.ptp(values) == 0:
        return float(values[0]), float(values[0]), float(values[0])
    res = bootstrap((values,), np.median, confidence_level=0.95, n_resamples=2000, method="percentile",
                    random_state=np.random.default_rng(0))
    return float(np.median(values)), float(res.confidence_interval.low), float(res.confidence_interval.high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--no-viewer-libs", action="store_true")
    parser.add_argument("--worker", nargs=3, metavar=("ARM", "WORKLOAD", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        arm, workload, seed = args.worker
        print(json.dumps(run_one(arm, workload, int(seed), not args.no_viewer_libs)))
        return
    results = {(a, w): [] for a in ARMS for w in WORKLOADS}
    rng = np.random.default_rng(7)
    for rep in range(args.reps):
        for workload in WORKLOADS:
            for arm in rng.permutation(ARMS):  # interleaved, shuffled each round: drift hits every arm alike
                cmd = [sys.executable, __file__, "--worker", arm, workload, str(rep)]
                cmd += ["--no-viewer-libs"] if args.no_viewer_libs else []
                out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600)
                results[(arm, workload)].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{args.reps} repetitions per cell; viewer libraries {'not ' if args.no_viewer_libs else ''}imported\n")
    print("| workload | arm | hit ratio (95 % CI) | p95 overhead ms (95 % CI) | worst peak vs limit | evictions |")
    print("|---|---|---|---|---|---|")
    for workload in WORKLOADS:
        for arm in ARMS:
            runs = results[(arm, workload)]
            h = ci([r["hit_ratio"] for r in runs])
            o = ci([r["p95_overhead_ms"] for r in runs])
            worst = max(r["peak_over_limit_mib"] for r in runs)
            where = f"{abs(worst):.0f} MiB {'over' if worst > 0 else 'under'}"
            ev = np.median([r["evictions"] for r in runs])
            print(f"| {workload} | {arm} | {h[0]:.3f} ({h[1]:.3f}–{h[2]:.3f}) | {o[0]:.2f} ({o[1]:.2f}–{o[2]:.2f}) "
                  f"| {where} | {ev:.0f} |")


if __name__ == "__main__":
    main()
