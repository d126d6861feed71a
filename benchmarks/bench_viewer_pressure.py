"""Catalog switches under memory pressure: a cache limit below the working set, so every switch loads and evicts.

    .venv/bin/python benchmarks/bench_viewer_pressure.py [--catalogs 4] [--points 2000000] [--sessions 3] [--switches 9]

The viewer's libraries are imported and ``--sessions`` idle sky maps stay live (each showing the
first catalog, as open browser tabs would); one more sky map cycles through the other catalogs.
The RSSThresholdLRU limit is set so that, with one switched-to catalog in, a second does not fit:
every switch is a miss that loads the catalog and evicts another. Each switch is timed from setting
the catalog to its new aggregate (as bench_viewer_switch.py does) and compared with a plain load
of the same catalog (the reader alone, no cache, no viewer).
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_viewer_switch import fail, write_points  # noqa: E402

from vizcache.catalogs.source import CatalogSource  # noqa: E402
from vizcache.config import load_config  # noqa: E402
from vizcache.memory import release_memory  # noqa: E402
from vizcache.viewer.runtime import ViewerRuntime  # noqa: E402
from vizcache.viewer import app  # noqa: E402,F401  the viewer's libraries, all of them
from vizcache.viewer.skymap import SkyMap  # noqa: E402

MiB = 2**20


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--catalogs", type=int, default=4)
    parser.add_argument("--points", type=int, default=2_000_000)
    parser.add_argument("--sessions", type=int, default=3, help="idle sky maps kept live beside the one that switches")
    parser.add_argument("--switches", type=int, default=9)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vizcache-pressure-"))
    names = [f"C{i}" for i in range(args.catalogs)]
    for i, name in enumerate(names):
        write_points(root / f"{name}.parquet", args.points, seed=i, kind="members")
    catalogs = "".join(f'[catalogs.{n}]\nfiles = "{n}.parquet"\nkind = "members"\n' for n in names)

    def config(limit: int) -> Path:
        path = root / f"pressure-{limit}.toml"
        path.write_text(f'[policy]\nname = "RSSThresholdLRU"\nlimit = {limit}\nhigh_water = 0.9\nlow_water = 0.8\n'
                        f'[data]\nfolders = ["."]\n{catalogs}')
        return path

    specs = load_config(config(2**40)).catalogs
    plain = {name: [] for name in names}

    def plain_loads() -> list[int]:
        """Each catalog read by the reader alone (timed), and the RSS it adds."""
        sizes = []
        for name in names:
            release_memory()
            before = runtime_probe.rss_unmetered()
            start = time.perf_counter()
            frame = CatalogSource(specs[name]).load()
            plain[name].append(time.perf_counter() - start)
            sizes.append(runtime_probe.rss_unmetered() - before)
            del frame
        release_memory()
        return sizes

    runtime_probe = ViewerRuntime(load_config(config(2**40)), sample_every=3600).cache
    size = statistics.median(plain_loads())

    # The live sessions: idle maps on the first catalog (they keep it in memory whatever the cache does).
    runtime = ViewerRuntime(load_config(config(2**40)), sample_every=3600)
    idle = [SkyMap(runtime=runtime, catalog=names[0], notify=fail, served=False) for _ in range(args.sessions)]  # noqa: F841  held, as open pages hold theirs
    active = SkyMap(runtime=runtime, catalog=names[1], notify=fail, served=False)
    release_memory()  # garbage of the loads and first aggregates is not memory the sessions hold
    base = runtime.cache.rss_unmetered()
    # High water a third of a catalog above RSS with one switched-to catalog in: no room for a second one
    # (freed heap the allocator keeps makes RSS grow by less than a catalog per load).
    limit = int((base + 0.3 * size) / 0.9)
    runtime.cache.policy.limit = limit
    stats0 = runtime.cache.stats()
    samples, peak = [], base
    cycle = names[2:] + names[1:2]
    for i in range(args.switches):
        name = cycle[i % len(cycle)]
        start = time.perf_counter()
        active.catalog = name  # loads, evicts and aggregates before it returns
        samples.append((name, time.perf_counter() - start))
        peak = max(peak, runtime.cache.rss_unmetered())
    stats = runtime.cache.stats()
    plain_loads()  # again, in the same state of the machine as the switches
    loads, evictions = stats["loads"] - stats0["loads"], stats["evictions"] - stats0["evictions"]
    switch = [s for _, s in samples]
    plain_same = [t for name, _ in samples for t in plain[name]]
    print(f"{args.catalogs} member catalogs of {args.points:,} points (~{size / MiB:,.0f} MiB each in RSS), {args.sessions} idle sessions "
          f"+ 1 switching; RSS with libraries and sessions {base / MiB:,.0f} MiB; limit {limit / MiB:,.0f} MiB "
          f"(high water {0.9 * limit / MiB:,.0f} MiB); peak RSS {peak / MiB:,.0f} MiB\n")
    print("| | median s | p95 s |\n|---|---|---|")
    print(f"| switch under pressure (load + evict + new aggregate), {len(switch)} switches | {statistics.median(switch):.2f} | {percentile(switch, .95):.2f} |")
    print(f"| plain load of the same catalogs (reader only, before and after the switches) | {statistics.median(plain_same):.2f} | {percentile(plain_same, .95):.2f} |")
    print(f"\nratio of medians {statistics.median(switch) / statistics.median(plain_same):.2f}; {loads} loads and {evictions} evictions "
          f"in {len(switch)} switches; cache hits during the switches: {stats['hits'] - stats0['hits']}")


if __name__ == "__main__":
    main()
