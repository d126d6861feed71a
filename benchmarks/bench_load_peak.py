"""A catalog load's memory peak against what the loaded catalog holds afterwards (issue #24: peak ≤ 1.5× held).

    .venv/bin/python benchmarks/bench_load_peak.py --members /tmp/vizcache-large/members [--rows 1e5 1e6 1e7 3e7]
                                                   [--repeats 3] [--before REV]

Member-galaxy Parquet files of the given sizes are cut from a generated preset's members (the
``large`` preset: ``vizcache generate --preset large``), 1M-row row groups as the generator writes
them; 3×10⁷ rows are three 10M-row files, as the preset has them. Each load runs in a fresh
process: Python, pandas and pyarrow imported, the process's memory prepared as the served viewer prepares it
(``prepare_process_memory``: Arrow on the system allocator, glibc tuned) and a 1,000-row warm-up
load done (the first load's imports and set-up, ~120 MiB once per process, are not a load's peak), the peak RSS reset (``/proc/self/clear_refs``),
then ``CatalogSource.load()``. Each process gets the environment its tree's ``vizcache serve`` gives
the server (Arrow's C++ pool). The peak is VmHWM minus the RSS just before the load; "held" is the
loaded frame's ``memory_usage(deep=True)``. With ``--before REV`` the same loads run from a git
worktree of REV beside this tree's, alternating, so both see the same machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from pathlib import Path
import pandas, pyarrow, pyarrow.parquet  # imported before the baseline: the load's own peak is measured
from vizcache.catalogs.source import CatalogSource, CatalogSpec
from vizcache.memory import prepare_process_memory

prepare_process_memory()  # as the served viewer and compare's workers do: Arrow allocates through glibc


def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024


files, warm = json.loads(sys.argv[1]), sys.argv[2]
CatalogSource(CatalogSpec("WARM", "members", (warm,), (Path(warm).parent,))).load()  # first-use imports and set-up
spec = CatalogSpec("MEMBERS", "members", tuple(files), tuple({Path(f).parent for f in files}))
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current RSS
before = status("VmRSS")
start = time.perf_counter()
catalog = CatalogSource(spec).load()
seconds = time.perf_counter() - start
print(json.dumps({"rows": len(catalog), "held": int(catalog.data.memory_usage(deep=True).sum()),
                  "peak": status("VmHWM") - before, "rss_after": status("VmRSS") - before, "seconds": seconds}))
"""


def cut_files(members: Path, rows: int, out: Path) -> list[str]:
    """Parquet files holding the first ``rows`` member rows (whole preset files when they fit)."""
    import pyarrow.parquet as pq

    sources = sorted(members.glob("*.parquet"))
    files, left = [], rows
    for source in sources:
        n = pq.read_metadata(source).num_rows
        if left >= 0.999 * n:  # a whole preset file for "10⁷" when the file holds 9,999,979
            files.append(str(source))
            left = max(0, left - n)
        elif left > 0:
            target = out / f"members-first-{rows}.parquet"
            if not target.exists():
                table = pq.read_table(source).slice(0, left)
                pq.write_table(table, target, row_group_size=1_000_000)
            files.append(str(target))
            left = 0
        if left == 0:
            break
    if left:
        sys.exit(f"{members}: only {rows - left} member rows, {rows} asked for")
    return files


ENVIRONMENT = """
import json
from vizcache import memory
adds = getattr(memory, "loading_process_environment", None)  # a tree from before it: nothing added
print(json.dumps(adds({}) if adds else {}))
"""


def environment(tree: Path) -> dict[str, str]:
    """What the tree's ``vizcache serve`` gives its server's environment, so each load is measured in
    the process its own server would be."""
    base = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", ENVIRONMENT], cwd=tree, capture_output=True, text=True, env=base, check=True)
    return {**base, **json.loads(out.stdout)}


def run(tree: Path, files: list[str], warm: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(files), str(warm)], cwd=tree, capture_output=True, text=True,
                         env=environment(tree))
    if out.returncode != 0:
        raise SystemExit(f"load of {len(files)} file(s) failed in {tree}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    import pyarrow.parquet as pq

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=Path, required=True, help="folder of a generated preset's member Parquet files")
    parser.add_argument("--rows", type=float, nargs="+", default=[1e5, 1e6, 1e7, 3e7])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", help="a git revision to measure beside this tree (a worktree is made for it)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="vizcache-load-peak-") as tmp:
        tmp = Path(tmp)
        trees = {"after": REPO}
        if args.before:
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tmp / "before"), args.before],
                           check=True, capture_output=True)
            trees = {"before": tmp / "before", "after": REPO}
        warm = tmp / "warm-up.parquet"
        pq.write_table(pq.read_table(sorted(args.members.glob("*.parquet"))[0]).slice(0, 1000), warm)
        try:
            print("| rows | tree | held MiB | peak MiB (median, min–max) | peak / held | RSS kept MiB | seconds (median) |")
            print("|---|---|---|---|---|---|---|")
            for rows in (int(r) for r in args.rows):
                files = cut_files(args.members, rows, tmp)
                results = {name: [] for name in trees}
                for _ in range(args.repeats):
                    for name, tree in trees.items():  # alternating: both see the same moment of the machine
                        results[name].append(run(tree, files, warm))
                for name, runs in results.items():
                    peaks = [r["peak"] / 2**20 for r in runs]
                    held = runs[0]["held"] / 2**20
                    print(f"| {runs[0]['rows']:,} | {name} | {held:,.0f} | {statistics.median(peaks):,.0f} "
                          f"({min(peaks):,.0f}–{max(peaks):,.0f}) | {statistics.median(peaks) / held:.2f} | "
                          f"{statistics.median(r['rss_after'] / 2**20 for r in runs):,.0f} | "
                          f"{statistics.median(r['seconds'] for r in runs):.2f} |", flush=True)
        finally:
            if args.before:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tmp / "before")], capture_output=True)


if __name__ == "__main__":
    main()
