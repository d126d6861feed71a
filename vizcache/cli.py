"""The ``vizcache`` command. Bad input prints one message naming the problem, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable

from .catalogs.readers import CatalogError
from .compare.commands import add_parsers as add_compare_parsers
from .compare.files import ReportError
from .config_file import ConfigError
from .memory import RSSProbe, auto_memory_limit, cgroup_memory_limit, system_memory
from .policies import available_policies
from .policies.config import policy_from_config
from .trace import TraceError, export_libcachesim_csv
from .units import format_bytes, parse_bytes
from .viewer.serve_command import add_parser as add_serve_parser


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


def _size_arg(text: str) -> int:
    """A byte size on the command line ("64MiB", 4096), or argparse's usage error naming what is allowed."""
    try:
        return parse_bytes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_export_trace(args: argparse.Namespace) -> int:
    if args.format == "oracleGeneral":
        from .compare.tracefile import export_oracle_general

        n = export_oracle_general(args.trace, args.out, args.unknown_size)
        print(f"wrote {n} requests to {args.out} (libCacheSim oracleGeneral, 24 bytes a request)")
        return 0
    n = export_libcachesim_csv(args.trace, args.out, args.unknown_size)
    print(f"wrote {n} requests to {args.out} (libCacheSim csv: time,obj_id,obj_size)")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .catalogs.generate import PRESETS, Preset, generate

    preset = PRESETS[args.preset]
    if args.clusters or args.members_per_richness:
        preset = Preset(args.clusters or preset.true_clusters, args.members_per_richness or preset.members_per_richness,
                        preset.rows_per_file, preset.row_group_rows)
    out = args.out or f"data/{args.preset}"
    # A progress bar on a terminal only, for work that takes over a second, and none left above an error.
    with tqdm(total=100, unit="%", delay=1.0, leave=False, disable=not sys.stderr.isatty(), desc="generating",
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}") as bar:
        def progress(fraction: float, message: str) -> None:
            bar.update(round(fraction * 100) - bar.n)
            bar.set_postfix_str(message)

        result = generate(out, preset, seed=args.seed, fits=args.fits, progress=progress)
    for label, n in result.rows.items():
        print(f"{label:>8}: {n:>12,} rows  {', '.join(result.files[label][:2])}{' ...' if len(result.files[label]) > 2 else ''}")
    print(f"   total: {result.total_rows:>12,} rows in {out}")
    if args.hats:
        from pathlib import Path

        from .catalogs.partition import generated_members_spec, partition_catalog

        path = partition_catalog(generated_members_spec(out), Path(out) / "hats" / "members", overwrite=True)
        print(f"members as a HATS catalog: {path}")
    return 0


def cmd_crossmatch(args: argparse.Namespace) -> int:
    from .catalogs.crossmatch import crossmatch, summary_markdown
    from .catalogs.source import CatalogSource
    from .config import load_config

    config = load_config(args.config)
    missing = [name for name in (args.a, args.b) if name not in config.catalogs]
    if missing:
        raise ConfigError(f"{args.config}: no catalog {missing[0]!r}; configured catalogs: {', '.join(config.catalogs) or 'none'}")
    a, b = (CatalogSource(config.catalogs[name]).load().data for name in (args.a, args.b))
    match = crossmatch(a, b, args.radius, args.dz)
    print(summary_markdown(match, (args.a, args.b), (len(a), len(b)), args.radius, args.dz))
    return 0


def cmd_catalog_info(args: argparse.Namespace) -> int:
    from .catalogs.source import CatalogSource
    from .config import load_config
    from .units import format_bytes

    config = load_config(args.config)
    if args.name not in config.catalogs:
        raise ConfigError(f"{args.config}: no catalog {args.name!r}; configured catalogs: {', '.join(config.catalogs) or 'none'}")
    info = CatalogSource(config.catalogs[args.name]).load().info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    if info["backend"] == "hats":
        _print_hats_info(info)
        return 0
    print(f"{info['name']} ({info['kind']}, {info['backend']}): {info['rows']:,} rows, {format_bytes(info['memory_bytes'])} in memory")
    for reason, n in info["rows_dropped"].items():
        print(f"  dropped {n:,} rows: {reason}")
    ra = info["ra_extent"]
    dec = info["dec_range"]
    print(f"  RA {ra[0]:.2f} -> {ra[1]:.2f} deg{' (crosses RA 0)' if ra[0] > ra[1] else ''}, Dec {dec[0]:.2f} .. {dec[1]:.2f} deg")
    if info["z_range"]:
        print(f"  redshift {info['z_range'][0]:.3f} .. {info['z_range'][1]:.3f}")
    print("  columns:")
    for name, col in info["columns"].items():
        print(f"    {name:<10} <- {col['source']:<26} {col['dtype']}")
    for f in info["files"]:
        print(f"  file {f}")
    return 0


def _print_hats_info(info: dict) -> None:
    """A HATS catalog, from its metadata and skymap only (no data file was read)."""
    sizes = info["rows_per_partition"]
    print(f"{info['name']} ({info['kind']}, HATS): {info['rows']:,} rows in {info['partitions']:,} partitions "
          f"(rows per partition {sizes['min']:,} .. {sizes['max']:,}, median {sizes['median']:,.0f})")
    print("  HEALPix orders: " + ", ".join(f"{n:,} at order {k}" for k, n in info["healpix_orders"].items()))
    if info["sky_fraction"] is not None:
        print(f"  partitions cover {100 * info['sky_fraction']:.2f} % of the sky ({info['sky_fraction'] * 41252.96:,.0f} deg²)")
    occupied = info["occupied_sky_fraction"]
    print(f"  rows in {100 * occupied:.2f} % of the sky ({occupied * 41252.96:,.0f} deg², HEALPix order {info['occupied_order']} skymap)")
    ra, dec = info["ra_extent"], info["dec_range"]
    if ra:
        print(f"  RA {ra[0]:.2f} -> {ra[1]:.2f} deg{' (crosses RA 0)' if ra[0] > ra[1] else ''}, Dec {dec[0]:.2f} .. {dec[1]:.2f} deg (skymap)")
    print(f"  skymap orders: {', '.join(map(str, info['skymap_orders']))}")
    print("  columns:")
    for name, col in info["columns"].items():
        print(f"    {name:<10} <- {col['source']:<26} {col['dtype']}")
    print(f"  catalog {info['path']}")


def cmd_partition(args: argparse.Namespace) -> int:
    from .catalogs.partition import PartitionSettings, partition_catalog
    from .config import load_config

    config = load_config(args.config)
    if args.name not in config.catalogs:
        raise ConfigError(f"{args.config}: no catalog {args.name!r}; configured catalogs: {', '.join(config.catalogs) or 'none'}")
    settings = PartitionSettings(max_rows=args.max_rows, highest_order=args.highest_order, workers=args.workers, threads=args.threads)
    path = partition_catalog(config.catalogs[args.name], args.out, settings, scheduler=args.scheduler, overwrite=args.overwrite)
    import hats

    written = hats.read_hats(path)
    print(f"wrote {written.catalog_info.total_rows:,} rows in {len(written.get_healpix_pixels()):,} partitions to {path}")
    print(f'read it with: [catalogs.{args.name}_HATS] files = "{path}", format = "hats", kind = "{config.catalogs[args.name].kind}"')
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not allowed: use a whole number of at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not allowed: use a number above 0")
    return value


def _order(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 12:
        raise argparse.ArgumentTypeError(f"{text} is not allowed: use a HEALPix order from 1 to 12")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vizcache", description="Memory-aware caching with pluggable policies.")
    sub = parser.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="memory limit, RSS probe and registered policies")
    info.add_argument("--config", help="also show the policy this TOML config selects")
    info.set_defaults(func=cmd_info)

    pol = sub.add_parser("policies", help="list registered policies with their parameters")
    pol.add_argument("--json", action="store_true", help="machine-readable output")
    pol.set_defaults(func=cmd_policies)

    exp = sub.add_parser("export-trace", help="convert a recorded JSON Lines trace to libCacheSim csv or oracleGeneral")
    exp.add_argument("trace", help="trace file written by the trace recorder (.jsonl)")
    exp.add_argument("out", help="file to write")
    exp.add_argument("--format", choices=["csv", "oracleGeneral"], default="csv", help="libCacheSim trace format (default: %(default)s)")
    exp.add_argument("--unknown-size", type=_size_arg, default=None, metavar="BYTES",
                     help='size to write for keys whose size the trace does not know (e.g. "64MiB")')
    exp.set_defaults(func=cmd_export_trace)

    gen = sub.add_parser("generate", help="write a synthetic Euclid-like data set (Parquet, optionally FITS)")
    gen.add_argument("--preset", choices=["small", "default", "large"], default="default",
                     help="small: tests, seconds; default: ~11M rows; large: >100M member rows in many files")
    gen.add_argument("--out", help="output folder (default: data/PRESET)")
    gen.add_argument("--seed", type=int, default=42, help="same seed, same catalogs (default 42)")
    gen.add_argument("--fits", action="store_true", help="also write the cluster catalogs as FITS binary tables")
    gen.add_argument("--clusters", type=int, help="explicit size: number of true clusters to draw")
    gen.add_argument("--members-per-richness", type=float, help="explicit size: member galaxies per unit richness")
    gen.add_argument("--hats", action="store_true", help="also write the member galaxies as a HATS catalog in OUT/hats/members")
    gen.set_defaults(func=cmd_generate)

    cat = sub.add_parser("catalog-info", help="rows, columns, sky extent, redshift range and memory of a configured catalog")
    cat.add_argument("config", help="TOML config file with [catalogs.NAME] tables")
    cat.add_argument("name", help="catalog name, e.g. PZWAV")
    cat.add_argument("--json", action="store_true", help="machine-readable output")
    cat.set_defaults(func=cmd_catalog_info)

    xm = sub.add_parser("crossmatch", help="match two configured cluster catalogs: counts, completeness and purity (Markdown)")
    xm.add_argument("config", help="TOML config file with [catalogs.NAME] tables")
    xm.add_argument("a", help="catalog A, e.g. PZWAV")
    xm.add_argument("b", help="catalog B, e.g. AMICO")
    xm.add_argument("--radius", type=_positive_float, default=180.0, help="match radius in arcsec (default %(default)s)")
    xm.add_argument("--dz", type=_positive_float, default=0.15, help="largest |z_A - z_B| / (1 + z_A) (default %(default)s)")
    xm.set_defaults(func=cmd_crossmatch)

    part = sub.add_parser("partition", help="write a configured catalog as a HATS catalog (hats-import, out of core, on Dask)")
    part.add_argument("config", help="TOML config file with [catalogs.NAME] tables")
    part.add_argument("name", help="catalog name, e.g. MEMBERS")
    part.add_argument("--out", required=True, help="directory to write the HATS catalog into (created)")
    part.add_argument("--scheduler", help="address of an existing Dask scheduler, tcp://HOST:PORT (default: the catalog's "
                                          "`scheduler`, else a local cluster for the run)")
    part.add_argument("--max-rows", type=_positive_int, default=1_000_000, help="rows per partition at most (default %(default)s)")
    part.add_argument("--highest-order", type=_order, default=8, help="finest HEALPix order of a partition and the skymap, 1..12 "
                      "(default %(default)s)")
    part.add_argument("--workers", type=_positive_int, default=1, help="local cluster workers (default %(default)s)")
    part.add_argument("--threads", type=_positive_int, default=2, help="threads per local worker (default %(default)s)")
    part.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    part.set_defaults(func=cmd_partition)

    add_serve_parser(sub)  # serve: vizcache/viewer/serve_command.py
    add_compare_parsers(sub)  # compare, simulate
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, TraceError, CatalogError, ReportError) as exc:
        print(f"vizcache: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vizcache: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `vizcache simulate ... | head`: the reader left; so do we, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's exit flush would fail again
        return 141  # what a shell reports for SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
