"""The ``vizcache compare`` and ``vizcache simulate`` commands."""

from __future__ import annotations

import argparse
import errno
import json
import sys
import time
from pathlib import Path

import numpy as np

from ..config import ConfigError
from ..units import parse_bytes
from .files import ReportError


def cmd_compare(args: argparse.Namespace) -> int:
    from .experiment import load_experiment
    from .report import write_report
    from .runner import run_experiment
    from .simulate import simulate_experiment

    experiment = load_experiment(args.experiment)
    if args.quick:
        experiment = experiment.quick()
    out = Path(args.out or f"reports/{experiment.path.stem}{'-quick' if args.quick else ''}")
    try:
        document = run_experiment(experiment, out)
        document["complete"] = not document["experiment"]["interrupted"]
        if args.simulate or document["experiment"]["budgets"][1:]:
            document["simulation"] = simulate_experiment(document)
        paths = write_report(document, out)
    except OSError as exc:  # a full disk while writing specs or data: one line, not a traceback
        if exc.errno != errno.ENOSPC:
            raise
        raise ReportError(f"cannot write into {out}: {exc.strerror}") from None
    print(f"  {document['decision']['recommendation']}")
    for verdict in document["verdicts"]:
        if verdict["winner"]:
            print(f"  {verdict['text']}")
    missing = sum(len(p["missing"]) for p in document["policies"].values())
    print(f"report: {paths['html']}\n        {paths['markdown']}\n        {paths['json']}"
          + (f"\n{missing} run(s) missing: see the report" if missing else ""))
    return 130 if document["experiment"]["interrupted"] else 0


def _budgets(text: str) -> list[int]:
    try:
        budgets = [parse_bytes(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not budgets or any(b <= 0 for b in budgets):
        raise argparse.ArgumentTypeError(f"{text!r}: give one or more sizes above 0, comma-separated (e.g. 64MiB,256MiB)")
    return sorted(set(budgets))


def _orders(text: str) -> list[str]:
    from ..orders import ORDERS

    orders = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [o for o in orders if o not in ORDERS]
    if not orders or unknown:
        raise argparse.ArgumentTypeError(f"{text!r}: give one or more of {', '.join(ORDERS)}, comma-separated")
    return list(dict.fromkeys(orders))


def _rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = -1.0
    if not 0 < rate <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a sampling rate above 0 and at most 1 (e.g. 0.01 for 1 %)")
    return rate


def cmd_simulate(args: argparse.Namespace) -> int:
    from . import reference, tracesim
    from .tracefile import read_requests

    start = time.perf_counter()
    requests = read_requests(args.trace, args.format)  # a cut-off last line of a JSON Lines trace is logged and skipped
    read_seconds = time.perf_counter() - start
    if requests.left_out:
        print(f"vizcache: warning: {requests.left_out} of {requests.left_out + len(requests.ids)} requests are for keys whose "
              "size the trace never gives; left out", file=sys.stderr)
    budgets = args.budgets or [max(1, int(f * tracesim.working_set(requests))) for f in (0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0, 1.2)]
    result = tracesim.run(requests, budgets, args.orders, args.sample)
    result.update(format=args.format, left_out=requests.left_out, read_seconds=read_seconds)
    if requests.sizes_from is not None:
        result["sizes_from"] = requests.sizes_from
    result["seconds"] = time.perf_counter() - start
    if args.reference:
        if not reference.available():
            raise ConfigError("--reference needs libCacheSim: pip install 'vizcache[reference]'")
        keys = requests.ids.tolist()
        first = np.unique(requests.ids, return_index=True)[1]
        result["reference"] = reference.curves(keys, dict(zip(requests.ids[first].tolist(), requests.sizes[first].tolist(), strict=True)), budgets)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    sampled = f", SHARDS sample of {result['sample']['requests']:,} requests at rate {result['sample']['rate']:.4g}" if args.sample else ""
    print(f"{result['requests']:,} requests over {result['keys']:,} keys, {len(budgets)} budgets{sampled}, {result['seconds']:.2f} s")
    print("model                   budget       hit ratio  byte hit ratio  peak")
    for name, curve in list(result["policies"].items()) + [(f"libCacheSim {k}", v) for k, v in result.get("reference", {}).items()]:
        for i, b in enumerate(budgets):
            print(f"{name:<23} {b / 2**20:>9,.1f} MiB {curve['hit_ratio'][i]:>9.3f}  {curve['byte_hit_ratio'][i]:>14.3f}  "
                  f"{curve['peak_bytes'][i] / 2**20:,.1f} MiB")
    return 0


def add_parsers(sub) -> None:
    cmp = sub.add_parser("compare", help="A/B cache policies on one workload; writes report.html, summary.md, results.json")
    cmp.add_argument("experiment", nargs="?", default="policies/ab_getsizeof_vs_rss.toml", help="experiment TOML (default: %(default)s)")
    cmp.add_argument("--quick", action="store_true", help="scaled-down data and budgets, 3 repetitions, at most 40 requests "
                     "(200 of a trace replayed key by key), "
                     "no real-run sweep (under two minutes)")
    cmp.add_argument("--simulate", action="store_true", help="also sweep the budget in simulation (always done with a budget sweep)")
    cmp.add_argument("--out", help="report folder (default: reports/EXPERIMENT)")
    cmp.set_defaults(func=cmd_compare)

    sim = sub.add_parser("simulate", help="replay a trace through byte-capacity caches and policy models at several budgets (no real loads)")
    sim.add_argument("trace", help="a trace written by the trace recorder (.jsonl) or a libCacheSim oracleGeneral trace (--format oracleGeneral)")
    sim.add_argument("--format", choices=["jsonl", "oracleGeneral"], default="jsonl", help="trace format (default: %(default)s)")
    sim.add_argument("--orders", type=_orders, default=None, metavar="ORDERS",
                     help="eviction orders, comma-separated: a byte-capacity model and RSSThresholdLRU in each (default: lru,s3fifo,sieve)")
    sim.add_argument("--budgets", type=_budgets,
                     help="comma-separated sizes, e.g. 64MiB,256MiB,1GiB (default: 8 from 10%% to 120%% of the working set)")
    sim.add_argument("--sample", type=_rate, metavar="RATE",
                     help="simulate a SHARDS spatial sample: the keys whose hash falls below RATE, at budgets scaled by RATE (e.g. 0.01)")
    sim.add_argument("--json", action="store_true", help="print {budgets, policies: {model: {hit_ratio, byte_hit_ratio, peak_bytes}}, ...}")
    sim.add_argument("--reference", action="store_true", help="add libCacheSim's LRU, LFU, S3-FIFO and ARC (needs vizcache[reference])")
    sim.set_defaults(func=cmd_simulate)
