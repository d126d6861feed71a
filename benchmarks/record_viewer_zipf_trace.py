"""Record a real viewer trace: one user switching among 47 catalogs with zipf popularity.

    nice -n -15 .venv/bin/python benchmarks/record_viewer_zipf_trace.py     # writes benchmarks/traces/viewer_zipf_47.jsonl (~4 min)
    .venv/bin/python benchmarks/record_viewer_zipf_trace.py --out /tmp/t.jsonl --requests 100

How the shipped trace (benchmarks/traces/viewer_zipf_47.jsonl, 1,000 rows, 112 KiB) was made: this
script with its defaults, once, at commit de36a85 (`git archive` of it on PYTHONPATH), under
`nice -n -15` on the 2-core machine: 237 s of switching. It generates the `small` preset scaled to
41,000 true clusters, 5 member galaxies per unit of richness and 100,000 rows per member file
(seed 12; policies/ab_orders_zipf.toml's recipe on fewer clusters: 45 member files) and writes a
viewer config of 47 catalogs: PZWAV, AMICO, BOTH and the first 44 member files (MEMBERS-000 ...
MEMBERS-043, kind "members"), with `[policy] RSSThresholdLRU` at a limit far above the working set
(nothing is ever evicted, so each catalog's first request is a real load and every later one a
hit) and `[trace] path` set.

It then drives the viewer's own code in this process: a `ViewerRuntime` on that config (the object
every browser session shares) and one `SkyMap(runtime=..., served=False)` (never put in a Bokeh
document), which opens on the first catalog and is then switched 999 times (`skymap.catalog = name`,
what the catalog selector does): 1,000 requests. Each switch loads through the cache (`runtime.load`;
the cache's trace recorder writes key, hit, load seconds and the RSS delta around the load) and
draws the map's aggregate. The catalog after each switch is drawn with popularity ∝ 1/rank^0.9 over
a shuffled rank order (numpy `default_rng(12)`), drawn again when it is the catalog already shown:
picking the shown catalog in the selector asks the cache for nothing.

The recorded sizes are what the viewer's cache measures, RSS after the load minus RSS before (its
catalog loader reports no size), made exact in three ways that change no decision (nothing is
evicted): the allocator set up as in every `vizcache compare` run (Arrow through glibc, glibc
returning freed memory at once), the heap trimmed before each switch and, through the policy's
`trim_above_bytes`, after each load, so that a delta counts what the catalog keeps and not the
reader's freed buffers; and a map on a runtime of its own opens a catalog of each kind first, so
the first recorded load does not carry the viewer's one-off imports. The script prints the
recorded working set beside pandas' memory_usage(deep=True) of the same catalogs (156 and
139 MiB for the shipped trace). Loads are real (Parquet read, columns normalised, projection
added); times between requests are what the switches took, with no think time. Only the trace is
kept: the data goes to a temporary folder (or --data) and is removed unless --keep.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vizcache.catalogs.generate import PRESETS, Preset, generate
from vizcache.compare.worker import _harness_memory as harness_memory
from vizcache.config import load_config
from vizcache.trace import read_trace
from vizcache.memory import release_memory

MiB = 2**20
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "traces" / "viewer_zipf_47.jsonl"
CLUSTER_CATALOGS = ("PZWAV", "AMICO", "BOTH")


def zipf_switches(names: list[str], requests: int, seed: int, skew: float) -> list[str]:
    """``requests`` catalog names, popularity ∝ 1/rank^skew over a shuffled rank order, never the same twice in a row."""
    rng = np.random.default_rng(seed)
    ranked = list(rng.permutation(names))
    weights = 1.0 / np.arange(1, len(ranked) + 1) ** skew
    p = weights / weights.sum()
    order: list[str] = []
    while len(order) < requests:
        name = str(ranked[rng.choice(len(ranked), p=p)])
        if not order or name != order[-1]:
            order.append(name)
    return order


def write_config(folder: Path, files: dict[str, list[str]], members: int, first: str, trace: Path | None = None):
    """A viewer config of PZWAV, AMICO, BOTH and ``members`` member catalogs, loaded; with ``trace``, recording to it."""
    catalogs = [f'[catalogs.{name}]\nfiles = "{files[name.lower()][0]}"\nkind = "clusters"\n' for name in CLUSTER_CATALOGS]
    member_files = files["members"]
    if len(member_files) < members:
        raise SystemExit(f"only {len(member_files)} member files were generated; {members} wanted (raise --clusters)")
    catalogs += [f'[catalogs.MEMBERS-{i:03d}]\nfiles = "{path}"\nkind = "members"\n' for i, path in enumerate(member_files[:members])]
    path = folder / ("viewer.toml" if trace else "warm-up.toml")
    path.write_text('[policy]\nname = "RSSThresholdLRU"\nlimit = "16GiB"   # far above the working set: nothing is evicted\n\n'
                    f'[data]\nfolders = ["{folder}"]\n\n' + (f'[trace]\npath = "{trace}"\n\n' if trace else "")
                    + f'[viewer]\ncatalog = "{first}"\n\n' + "\n".join(catalogs))
    return load_config(path)


def switch_all(skymap, names: list[str]) -> None:
    """Switch the map to each catalog in turn (a switch aggregates the new map before it returns). The heap
    is trimmed before each switch, so that RSS before the load holds no freed memory of the last one."""
    for name in names:
        release_memory()
        skymap.catalog = name  # what the catalog selector does


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="trace file to write (replaced) [%(default)s]")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--members", type=int, default=44, help="member catalogs configured (plus PZWAV, AMICO, BOTH)")
    parser.add_argument("--clusters", type=int, default=41_000)
    parser.add_argument("--skew", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--data", type=Path, help="folder for the generated catalogs (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()

    from vizcache.viewer.runtime import ViewerRuntime
    from vizcache.viewer.skymap import SkyMap

    harness_memory()  # Arrow through glibc, glibc returning freed memory at once: as in every compare run

    def fail(message: str) -> None:
        raise RuntimeError(message)

    folder = (args.data or Path(tempfile.mkdtemp(prefix="vizcache-zipf-trace-"))).resolve()
    try:
        preset = Preset(args.clusters, 5.0, 100_000, PRESETS["small"].row_group_rows)
        start = time.perf_counter()
        generated = generate(folder / "data", preset, seed=args.seed)
        print(f"generated {generated.total_rows:,} rows in {len(generated.files['members'])} member files "
              f"in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        names = [*CLUSTER_CATALOGS, *(f"MEMBERS-{i:03d}" for i in range(args.members))]
        order = zipf_switches(names, args.requests, args.seed, args.skew)
        # Warm-up, not recorded: a map on a runtime of its own opens one catalog of each kind, so the readers',
        # Bokeh's and datashader's first-use imports and caches are in memory before the first recorded load.
        warm = SkyMap(runtime=ViewerRuntime(write_config(folder, generated.files, args.members, "MEMBERS-000")),
                      notify=fail, served=False)
        switch_all(warm, ["BOTH", "MEMBERS-001"])
        del warm
        recording = folder / "trace.jsonl"
        runtime = ViewerRuntime(write_config(folder, generated.files, args.members, order[0], recording))
        # Trim the heap after every load, not only near the limit (base CachePolicy.trim_above_bytes): each
        # recorded RSS delta then counts what the catalog holds, not the reader's freed transient buffers.
        runtime.cache.policy.trim_above_bytes = 0
        release_memory()
        start = time.perf_counter()
        skymap = SkyMap(runtime=runtime, notify=fail, served=False)  # opens on order[0]: the first request
        switch_all(skymap, order[1:])
        elapsed = time.perf_counter() - start
        sizes = {name: runtime.load(name).memory_bytes() for name in names}  # all cached: hits, after the recording
        runtime.cache.close()  # flushes the trace
        rows = read_trace(recording)[: args.requests]  # the size check above added hits after the recording
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    loads = [row for row in rows if not row["hit"]]
    deltas = {row["key"]: row["bytes"] for row in loads}
    frame = {row["key"]: sizes[ast.literal_eval(row["key"])[0]] for row in loads}  # the key is (name, fingerprint)
    error = statistics.median(abs(deltas[k] - frame[k]) / frame[k] for k in deltas)
    print(f"{len(rows)} requests over {len({r['key'] for r in rows})} keys in {elapsed:.0f} s: {len(loads)} loads "
          f"(median {statistics.median(r['load_s'] for r in loads) * 1000:.0f} ms), {len(rows) - len(loads)} hits; "
          f"working set {sum(deltas.values()) / MiB:,.0f} MiB by RSS delta, {sum(frame.values()) / MiB:,.0f} MiB by "
          f"memory_usage(deep=True) (median |delta - frame| / frame {error:.3f}); {args.out} {args.out.stat().st_size / 1024:,.0f} KiB")


if __name__ == "__main__":
    main()
