"""`vizcache simulate` against libCacheSim on the same oracleGeneral trace and budgets: end to end and per model.

    .venv/bin/python benchmarks/bench_simulate_vs_libcachesim.py [--trace FILE.oracleGeneral.bin]

Without --trace the 1.2M-request Markov mix (vizcache/compare/markov.py, seed 0) is written to a
temporary oracleGeneral file. Budgets: 1, 5, 10, 25 and 50 % of the working set.

* vizcache: `vizcache simulate TRACE --format oracleGeneral --budgets ... --json` in a child process
  (reading, every model, JSON out): its wall time and CPU time, and each model's requests/s (CPU) as
  the command reports them. The command also runs the RSS policy models, which libCacheSim has not;
  "same algorithms" adds up reading and the lru, s3fifo and sieve models only.
* libCacheSim: its Python binding's `process_trace` (a C loop over its own oracleGeneral reader), one
  cache per algorithm and budget, CPU time, with its default hash table (2**24 buckets) and with one
  sized to the trace; its end to end is the sum over LRU, S3FIFO and Sieve.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import libcachesim as lcs
import numpy as np

from vizcache.compare.markov import markov_trace
from vizcache.compare.tracefile import read_oracle_general, write_oracle_general

SHARES = (0.01, 0.05, 0.1, 0.25, 0.5)
ALGORITHMS = {"lru": "LRU", "s3fifo": "S3FIFO", "sieve": "Sieve"}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trace", type=Path, help="an oracleGeneral trace (default: the 1.2M-request Markov mix)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.trace
        if path is None:
            path = Path(tmp) / "markov.oracleGeneral.bin"
            ids, sizes = markov_trace(seed=0)
            write_oracle_general(path, np.arange(ids.size) // 1000, ids, sizes)
        requests = read_oracle_general(path)
        n = requests.ids.size
        first = np.unique(requests.ids, return_index=True)[1]
        budgets = [int(s * int(requests.sizes[first].sum())) for s in SHARES]

        cpu0, wall0 = children_cpu(), time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "vizcache.cli", "simulate", str(path), "--format", "oracleGeneral",
                               "--budgets", ",".join(map(str, budgets)), "--json"], capture_output=True, text=True, check=True)
        wall, cpu = time.perf_counter() - wall0, children_cpu() - cpu0
        doc = json.loads(proc.stdout)

        ours = {label: doc["model_cpu_seconds"][label] for label in ALGORITHMS}
        # libCacheSim's hash table is 2**hashpower buckets from the start: its default (24) costs 128 MiB of zeroed
        # memory per cache, which dominates a short trace; sized to the trace it is libCacheSim at its fastest
        sized = max(12, int(np.ceil(np.log2(len(requests.keys)))) + 1)
        theirs: dict = {24: {}, sized: {}}
        hits = {}
        for hashpower, times in theirs.items():
            for label, cls in ALGORITHMS.items():
                start = time.process_time()
                ratios = []
                for budget in budgets:
                    reader = lcs.TraceReader(str(path), lcs.TraceType.ORACLE_GENERAL_TRACE)
                    ratios.append(1 - getattr(lcs, cls)(cache_size=budget, hashpower=hashpower).process_trace(reader)[0])
                times[label] = time.process_time() - start
                hits[label] = max(abs(a - b) for a, b in zip(ratios, doc["policies"][label]["hit_ratio"], strict=True))

    runs = n * len(budgets)
    print(f"trace: {path.name if args.trace else 'Markov mix, seed 0'}, {n:,} requests, {len(requests.keys):,} objects, "
          f"{len(budgets)} budgets ({', '.join(f'{s:.0%}' for s in SHARES)} of the working set)\n")
    default, best = theirs[24], theirs[sized]
    print(f"| model | vizcache requests/s (CPU) | libCacheSim, hashpower 24 (its default) | libCacheSim, hashpower {sized} | "
          "libCacheSim faster by (default / sized) | largest hit-ratio difference |")
    print("|---|---|---|---|---|---|")
    for label in ALGORITHMS:
        print(f"| {label} | {runs / ours[label]:,.0f} | {runs / default[label]:,.0f} | {runs / best[label]:,.0f} | "
              f"{ours[label] / default[label]:.1f}× / {ours[label] / best[label]:.1f}× | {hits[label]:.1e} |")
    for label, rate in doc["requests_per_second"].items():
        if label not in ALGORITHMS:
            print(f"| {label} (no libCacheSim counterpart) | {rate:,.0f} | | | | |")
    same = doc["read_seconds"] + sum(ours.values())
    print(f"\nvizcache simulate end to end: {wall:.1f} s wall, {cpu:.1f} s CPU (reading {doc['read_seconds']:.2f} s, "
          f"{len(doc['policies'])} models)")
    print(f"same algorithms (reading + lru, s3fifo, sieve): vizcache {same:.2f} s CPU; libCacheSim {sum(default.values()):.2f} s CPU "
          f"(hashpower 24), {sum(best.values()):.2f} s CPU (hashpower {sized}): {same / sum(default.values()):.1f}× and "
          f"{same / sum(best.values()):.1f}× libCacheSim's time")


if __name__ == "__main__":
    main()
