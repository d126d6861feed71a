"""The ``vizcache compare`` and ``vizcache simulate`` commands."""

from __future__ import annotations

import argparse
import errno
import json
import sys
import time
from pathlib import Path

from ..config import ConfigError
from ..events import TraceError
from ..units import parse_bytes
from .files import ReportError

#: what `vizcache simulate` replays: label -> (model, the policy's parameters)
SIM_MODELS = {"lru": ("lru", {}), "RSSThresholdLRU": ("RSSThresholdLRU", {}),
              "RSSThresholdLRU s3fifo": ("RSSThresholdLRU", {"order": "s3fifo"}), "LegacyRSSManager": ("LegacyRSSManager", {})}


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
    print(f"report: {paths['html']}\n        {paths['markdown']}\n        {paths['json']}" + (f"\n{missing} run(s) missing: see the report" if missing else ""))
    return 130 if document["experiment"]["interrupted"] else 0


def _budgets(text: str) -> list[int]:
    try:
        budgets = [parse_bytes(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not budgets or any(b <= 0 for b in budgets):
        raise argparse.ArgumentTypeError(f"{text!r}: give one or more sizes above 0, comma-separated (e.g. 64MiB,256MiB)")
    return sorted(set(budgets))


def cmd_simulate(args: argparse.Namespace) -> int:
    from ..events import iter_trace
    from . import reference
    from .simulate import default_budgets, sweep
    from .tracefile import object_sizes

    # Two passes, a line at a time: only (time, key) of each request is kept, each key's text once.
    sizes, source = object_sizes(iter_trace(args.trace))  # a cut-off last line is logged as a warning and skipped
    keys = {key: key for key in sizes}
    requests, total = [], 0
    for row in iter_trace(args.trace, warn=False):
        total += 1
        if row["key"] in keys:
            requests.append((row["t"], keys[row["key"]]))
    if not total:
        raise TraceError(f"{args.trace}: the trace holds no requests")
    if not sizes:
        raise TraceError(f"{args.trace}: no load in the trace has a known size (neither a reported size nor an RSS delta above 0)")
    unknown = total - len(requests)
    if unknown:
        print(f"vizcache: warning: {unknown} of {total} requests are for keys whose size the trace never gives; left out",
              file=sys.stderr)
    budgets = args.budgets or default_budgets(sizes)
    start = time.perf_counter()
    result = {"budgets": budgets, "policies": {label: sweep(model, requests, sizes, budgets, params=params)
                                                  for label, (model, params) in SIM_MODELS.items()},
              "requests": len(requests), "keys": len(sizes), "left_out": unknown,
              "sizes_from": {"reported": sum(1 for s in source.values() if s == "reported"),
                             "rss_delta": sum(1 for s in source.values() if s == "rss delta")}}
    result["seconds"] = time.perf_counter() - start
    if args.reference:
        if not reference.available():
            raise ConfigError("--reference needs libCacheSim: pip install 'vizcache[reference]'")
        result["reference"] = reference.curves([key for _, key in requests], sizes, budgets)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{len(requests):,} requests over {len(sizes):,} keys, {len(budgets)} budgets, {result['seconds']:.2f} s")
    print("model                   budget       hit ratio  byte hit ratio  peak")
    for name, curve in list(result["policies"].items()) + [(f"libCacheSim {k}", v) for k, v in result.get("reference", {}).items()]:
        for i, b in enumerate(budgets):
            print(f"{name:<23} {b / 2**20:>9,.0f} MiB {curve['hit_ratio'][i]:>9.3f}  {curve['byte_hit_ratio'][i]:>14.3f}  "
                  f"{curve['peak_bytes'][i] / 2**20:,.0f} MiB")
    return 0


def add_parsers(sub) -> None:
    cmp = sub.add_parser("compare", help="A/B cache policies on one workload; writes report.html, summary.md, results.json")
    cmp.add_argument("experiment", nargs="?", default="policies/ab_getsizeof_vs_rss.toml", help="experiment TOML (default: %(default)s)")
    cmp.add_argument("--quick", action="store_true", help="scaled-down data and budgets, 3 repetitions, at most 40 requests (200 of a trace replayed key by key), "
                     "no real-run sweep (under two minutes)")
    cmp.add_argument("--simulate", action="store_true", help="also sweep the budget in simulation (always done with a budget sweep)")
    cmp.add_argument("--out", help="report folder (default: reports/EXPERIMENT)")
    cmp.set_defaults(func=cmd_compare)

    sim = sub.add_parser("simulate", help="replay a recorded trace through policy models at several budgets (no real loads)")
    sim.add_argument("trace", help="trace file written by the trace recorder (.jsonl)")
    sim.add_argument("--budgets", type=_budgets, help="comma-separated sizes, e.g. 64MiB,256MiB,1GiB (default: 8 from 10%% to 120%% of the working set)")
    sim.add_argument("--json", action="store_true", help="print {budgets, policies: {model: {hit_ratio, byte_hit_ratio, peak_bytes}}}")
    sim.add_argument("--reference", action="store_true", help="add libCacheSim's LRU, LFU, S3-FIFO and ARC (needs vizcache[reference])")
    sim.set_defaults(func=cmd_simulate)
