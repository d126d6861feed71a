"""The ``vizcache`` command. Bad input prints one message naming the problem, never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

from .config import ConfigError, policy_from_config
from .events import TraceError, export_libcachesim_csv
from .memory import RSSProbe, auto_memory_limit, cgroup_memory_limit, system_memory
from .policies import available_policies
from .units import format_bytes


def _time_call(fn: Callable[[], object], n: int = 20000) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def cmd_info(args: argparse.Namespace) -> int:
    total, available = system_memory()
    cgroup = cgroup_memory_limit()
    auto, source = auto_memory_limit()
    probe = RSSProbe()
    print(f"physical memory:   {format_bytes(total)} ({format_bytes(available)} available)")
    print(f"cgroup limit:      {format_bytes(cgroup) if cgroup else 'none'}")
    print(f'limit "auto":      {format_bytes(auto)} ({source})')
    print(f"process RSS:       {format_bytes(probe())} via {probe.method}, {_time_call(probe) * 1e6:.2f} µs a read")
    if args.config:
        policy = policy_from_config(args.config)
        print(f"config {args.config}: {type(policy).__name__} {json.dumps(policy.settings())}")
    print("registered policies: " + ", ".join(available_policies()))
    return 0


def cmd_policies(args: argparse.Namespace) -> int:
    policies = available_policies()
    if args.json:
        print(json.dumps({name: cls.describe() for name, cls in policies.items()}, indent=2, default=str))
        return 0
    for name, cls in policies.items():
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        print(f"{name}  ({cls.__module__}.{cls.__qualname__})\n    {summary}")
        for row in cls.describe():
            print(f"    {row['name']} = {row['default']!r}\n        {row['doc']}\n        allowed: {row['allowed']}")
        print()
    return 0


def cmd_export_trace(args: argparse.Namespace) -> int:
    n = export_libcachesim_csv(args.trace, args.out)
    print(f"wrote {n} requests to {args.out} (libCacheSim csv: time,obj_id,obj_size)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vizcache", description="Memory-aware caching with pluggable policies.")
    sub = parser.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="memory limit, RSS probe and registered policies")
    info.add_argument("--config", help="also show the policy this TOML config selects")
    info.set_defaults(func=cmd_info)

    pol = sub.add_parser("policies", help="list registered policies with their parameters")
    pol.add_argument("--json", action="store_true", help="machine-readable output")
    pol.set_defaults(func=cmd_policies)

    exp = sub.add_parser("export-trace", help="convert a recorded JSON Lines trace to libCacheSim csv")
    exp.add_argument("trace", help="trace file written by the trace recorder (.jsonl)")
    exp.add_argument("out", help="csv file to write")
    exp.set_defaults(func=cmd_export_trace)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, TraceError) as exc:
        print(f"vizcache: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vizcache: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
