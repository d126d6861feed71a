"""Sizing cost per switch at the seed viewer's full scale, through the compare harness itself.

    .venv/bin/python benchmarks/bench_seed_switch.py [--switches 16] [--out /tmp/vizcache-seed]

The data, layout, budget, workload and per-request measurements of policies/ab_seed_switching.toml
at full scale (150K true clusters, ~112K per finder, ~1M-row member catalogs with object-dtype
strings, 1.5 GiB budget), but only the first ``--switches`` requests and one run per policy (the
full experiment takes hours on a shared 2-core machine). Each policy runs in a fresh worker
process, as in `vizcache compare`. Prints, per policy, the time spent in size estimates per
switch and the switch latency (median and max over the switches).
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from vizcache.compare.experiment import load_experiment
from vizcache.compare.metrics import HIT, LATENCY, SIZING
from vizcache.compare.runner import make_requests, prepare_data

EXPERIMENT = Path(__file__).resolve().parents[1] / "policies" / "ab_seed_switching.toml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--switches", type=int, default=16)
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "vizcache-seed"))
    args = parser.parse_args()
    exp = load_experiment(EXPERIMENT)
    out = Path(args.out)
    catalogs = prepare_data(exp, out)
    requests = make_requests(exp, sorted(catalogs))[: args.switches]
    budget = exp.budget.bytes(0)
    print(f"{len(requests)} switches, budget {budget / 2**30:.1f} GiB, {exp.clusters:,} true clusters, "
          f"{len([c for c in catalogs if c.startswith('MEMBERS')])} member catalogs")
    print("| policy | size estimates per switch, median (max) | switch latency median (max) | hits |\n|---|---|---|---|")
    for policy in exp.policies:
        spec = {"label": policy.label, "repetition": 0, "policy": policy.table, "budget": budget, "layout": exp.layout,
                "data_dir": str(out / "data"), "catalogs": catalogs, "requests": requests,
                "stats_after_request": exp.workload.stats_after_request}
        spec_path, result_path = out / f"bench-{policy.label}-spec.json", out / f"bench-{policy.label}.json"
        spec_path.write_text(json.dumps(spec))
        subprocess.run([sys.executable, "-m", "vizcache.compare.worker", str(spec_path), str(result_path)], check=True)
        rows = json.loads(result_path.read_text())["requests"]
        sizing = np.asarray([r[SIZING] for r in rows]) * 1e3
        latency = np.asarray([r[LATENCY] for r in rows]) * 1e3
        print(f"| {policy.label} | {np.median(sizing):,.0f} ms ({sizing.max():,.0f} ms) | {np.median(latency):,.0f} ms "
              f"({latency.max():,.0f} ms) | {sum(r[HIT] for r in rows)} of {len(rows)} |")


if __name__ == "__main__":
    main()
