"""Instructions per cache hit, counted by valgrind's callgrind: repeatable on a busy machine.

    apt-get install valgrind && .venv/bin/python benchmarks/bench_hit_instructions.py
    .venv/bin/python benchmarks/bench_hit_instructions.py --tree /path/to/other/checkout   # its vizcache instead

Each case runs twice under callgrind — with 0 and with N hits on 50 cached keys — and the
difference divided by N is the cost of one hit, interpreter loop included (the same loop for
every case). Timings on this shared 2-core machine swing by 2x; instruction counts do not.
"""

import re
import subprocess
import sys
import textwrap

HITS = 20_000

CASES = {
    "lock-guarded OrderedDict LRU": """
        import threading
        from collections import OrderedDict
        d, lock = OrderedDict((k, k) for k in range(50)), threading.Lock()
        def get(key, loader):
            with lock:
                if key in d:
                    d.move_to_end(key)
                    return d[key]
    """,
    "vizcache RSSThresholdLRU, order=lru": """
        from vizcache import Cache, RSSThresholdLRU
        c = Cache(RSSThresholdLRU(limit="1TiB", order="lru"))
        for k in range(50): c.get_or_load(k, lambda: k)
        get = c.get_or_load
    """,
    "vizcache RSSThresholdLRU, order=s3fifo": """
        from vizcache import Cache, RSSThresholdLRU
        c = Cache(RSSThresholdLRU(limit="1TiB", order="s3fifo"))
        for k in range(50): c.get_or_load(k, lambda: k)
        get = c.get_or_load
    """,
    "vizcache AgeBased (freshness checked on every hit)": """
        from vizcache import Cache, AgeBased
        c = Cache(AgeBased(max_age=3600, max_idle=600))
        for k in range(50): c.get_or_load(k, lambda: k)
        get = c.get_or_load
    """,
    "vizcache SizeEstimatedLRU": """
        from vizcache import Cache, SizeEstimatedLRU
        c = Cache(SizeEstimatedLRU(budget="1TiB"))
        for k in range(50): c.get_or_load(k, lambda: k)
        get = c.get_or_load
    """,
}


def instructions(setup: str, hits: int, tree: str | None) -> int:
    prefix = f"import sys; sys.path.insert(0, {tree!r})\n" if tree else ""
    code = prefix + textwrap.dedent(setup) + f"\nfor i in range({hits}):\n    get(i % 50, None)\n"
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", code],
                         capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", out.stderr).group(1))


def main() -> None:
    tree = sys.argv[sys.argv.index("--tree") + 1] if "--tree" in sys.argv else None
    per_hit = {name: (instructions(setup, HITS, tree) - instructions(setup, 0, tree)) / HITS
               for name, setup in CASES.items()}
    ref = per_hit["lock-guarded OrderedDict LRU"]
    print("| cache | instructions per hit | × lock-guarded LRU |\n|---|---|---|")
    for name, n in per_hit.items():
        print(f"| {name} | {n:,.0f} | {n / ref:.2f} |")


if __name__ == "__main__":
    main()
