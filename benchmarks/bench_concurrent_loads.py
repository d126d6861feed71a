"""RSSThresholdLRU with loads running at once: how often, and by how much, RSS ends over the limit.

    .venv/bin/python benchmarks/bench_concurrent_loads.py --reps 3
    .venv/bin/python benchmarks/bench_concurrent_loads.py --reps 3 --before /path/to/older/checkout

Each run is a fresh process: 200 requests, zipf over 16 keys of 48 MiB, from 1 or 8 threads,
against a limit of the process's RSS at start + 8 entries (high water 0.8, low water 0.7).
A load reads "like I/O": four 12 MiB pieces, each after a 10 ms pause that lets the other
threads run. RSS is read after every request (the share over the limit, and the largest
excess), and by a sampler every 2 ms (the peak). "sizes given" passes ``expected_bytes`` (a
file's metadata would); otherwise the cache learns sizes from loads. The accounting error is
how far the entries' sizes add up above RSS at the end (0 is right). With ``--before``, the
same runs import vizcache from that checkout (which knows no ``expected_bytes``).
"""

import argparse
import json
import statistics
import subprocess
import sys

MiB = 2**20
ENTRY = 48 * MiB
KEYS, REQUESTS, ENTRIES_IN_LIMIT = 16, 200, 8


def run_one(threads: int, seed: int, hint: bool) -> dict:
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    import vizcache.memory
    from vizcache import Cache, RSSThresholdLRU
    from vizcache.memory import RSSProbe, release_memory

    # as a server process starts (an older checkout has no such call: its policy tuned at its first load)
    getattr(vizcache.memory, "prepare_process_memory", lambda: None)()
    probe = RSSProbe()
    release_memory()
    limit = probe() + ENTRIES_IN_LIMIT * ENTRY
    cache = Cache(RSSThresholdLRU(limit=limit, high_water=0.8, low_water=0.7))
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, KEYS + 1)
    keys = rng.choice(KEYS, size=REQUESTS, p=weights / weights.sum()).tolist()

    def load():
        pieces = []
        for _ in range(4):
            time.sleep(0.01)
            pieces.append(np.ones(ENTRY // 4 // 8))  # touched: resident
        return pieces

    after, peak, stop = [], [0], threading.Event()

    def sample():
        while not stop.wait(0.002):
            peak[0] = max(peak[0], probe())

    def request(key):
        kwargs = {"expected_bytes": ENTRY} if hint else {}
        cache.get_or_load(key, load, **kwargs)
        after.append(probe())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(request, keys))
    elapsed = time.perf_counter() - start
    stop.set()
    sampler.join()
    rss = probe()
    over = [r - limit for r in after if r > limit]
    return {
        "over_share": len(over) / len(after),
        "max_excess_mib": max(over, default=0) / MiB,
        "peak_excess_mib": max(0, peak[0] - limit) / MiB,
        "accounting_error_mib": max(0, cache.managed_bytes() - rss) / MiB,
        "hit_ratio": cache.stats()["hit_ratio"],
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--before", help="an older checkout to run the same workload against")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        threads, seed, hint = json.loads(args.one)
        print(json.dumps(run_one(threads, seed, hint)))
        return
    trees = [("this tree", None)] + ([("before", args.before)] if args.before else [])
    arms = [(name, tree, threads, hint) for name, tree in trees for threads in (1, 8)
            for hint in ((False, True) if tree is None else (False,))]
    results = {arm: [] for arm in arms}
    for seed in range(1, args.reps + 1):  # arms interleaved, so drift in the machine hits all alike
        for arm in arms:
            name, tree, threads, hint = arm
            env_path = [tree] if tree else []
            cmd = [sys.executable, "-c",
                   f"import sys; sys.path[:0] = {env_path!r}; sys.argv = ['x', '--one', {json.dumps(json.dumps([threads, seed, hint]))}]; "
                   "import runpy; runpy.run_path(" + repr(__file__) + ", run_name='__main__')"]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600)
            results[arm].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{REQUESTS} requests, zipf over {KEYS} keys of {ENTRY // MiB} MiB, limit = RSS at start + "
          f"{ENTRIES_IN_LIMIT} entries; medians over {args.reps} runs (the largest in brackets)\n")
    print("| tree | threads | sizes | requests ending over the limit | largest excess after a request | "
          "peak excess (2 ms sampler) | entries' sizes above RSS | hit ratio | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (name, _, threads, hint), runs in results.items():
        def cell(field, fmt):
            values = [r[field] for r in runs]
            return f"{fmt(statistics.median(values))} ({fmt(max(values))})"
        print(f"| {name} | {threads} | {'given' if hint else 'learned'} | {cell('over_share', lambda v: f'{v:.1%}')} | "
              f"{cell('max_excess_mib', lambda v: f'{v:.0f} MiB')} | {cell('peak_excess_mib', lambda v: f'{v:.0f} MiB')} | "
              f"{cell('accounting_error_mib', lambda v: f'{v:.0f} MiB')} | {cell('hit_ratio', lambda v: f'{v:.3f}')} | "
              f"{cell('seconds', lambda v: f'{v:.1f}')} |")


if __name__ == "__main__":
    main()
