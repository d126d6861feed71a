"""What `sys.getsizeof` costs per frame at the seed viewer's scale: the sizing SizeEstimatedLRU repeats on every switch.

    .venv/bin/python benchmarks/bench_seed_sizing.py [--repeats 5] [--out /tmp/vizcache-seed-sizing] [--json FILE]

Generates policies/ab_seed_switching.toml's cluster catalogs at full scale (150K true clusters,
~112K detections per finder) and member files of 1M rows (fewer member galaxies than the
experiment, so only two files are written), loads each through the experiment's "seed" layout
(DataFrames with object-dtype names and cross-ids, as `vizcache compare` holds them) and times
`getsizeof` (the old viewer's estimator: a frame's `__sizeof__` walks every string) on each frame,
median of ``--repeats``. Prints the three finder frames' sum (what one switch costs when all three
are cached) and a 1M-row member frame's; ``--json`` also writes them (docs/example-report/seed-sizing.json,
which README's "What the A/B shows" quotes).
"""

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from vizcache.compare.experiment import load_experiment
from vizcache.compare.runner import prepare_data
from vizcache.compare.worker import _sources, seed_layout
from vizcache.sizing import ESTIMATORS

EXPERIMENT = Path(__file__).resolve().parents[1] / "policies" / "ab_seed_switching.toml"
MEMBER_ROWS = 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "vizcache-seed-sizing"))
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    exp = load_experiment(EXPERIMENT)
    assert exp.rows_per_file == MEMBER_ROWS, "the experiment's member files are no longer 1M rows"
    # the experiment's clusters and file size; ~0.4 members per richness unit: two member files, not twenty
    exp = dataclasses.replace(exp, members_per_richness=0.4)
    out = Path(args.out)
    catalogs = prepare_data(exp, out)
    sources = _sources({"data_dir": str(out / "data"), "catalogs": catalogs})
    size = ESTIMATORS["getsizeof"]
    print(f"preset {exp.preset} with {exp.clusters:,} true clusters, seed layout, getsizeof, median of {args.repeats}; "
          f"python {sys.version.split()[0]}")
    print("| frame | rows | getsizeof says | time |\n|---|---|---|---|")
    finders, frames = 0.0, {}
    for name in ("PZWAV", "AMICO", "BOTH", "MEMBERS-000"):
        value = seed_layout(sources[name].load())
        samples = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            reported = size(value)
            samples.append(time.perf_counter() - start)
        seconds = statistics.median(samples)
        finders += seconds if name != "MEMBERS-000" else 0.0
        frames[name] = {"rows": len(value), "getsizeof_bytes": reported, "seconds": seconds}
        print(f"| {name} | {len(value):,} | {reported / 2**20:,.0f} MiB | {seconds:.2f} s |")
        del value
    print(f"| the three finder frames, one switch | | | {finders:.2f} s |")
    if args.json:
        Path(args.json).write_text(json.dumps({"command": "benchmarks/bench_seed_sizing.py", "repeats": args.repeats, "frames": frames,
                                               "finders_per_switch_s": finders, "member_frame_s": frames["MEMBERS-000"]["seconds"]},
                                              indent=1) + "\n")


if __name__ == "__main__":
    main()
