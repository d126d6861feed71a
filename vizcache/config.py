"""TOML configuration: which policy, with which parameters — and one clear error when it is wrong.

A policy is chosen by a ``[policy]`` table::

    [policy]
    name = "RSSThresholdLRU"   # any name `vizcache policies` lists
    limit = "6GiB"
    high_water = 0.8
"""

from __future__ import annotations

import glob
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalogs.generate import PRESETS
from .catalogs.readers import READERS, required_missing
from .catalogs.schema import EUCLID_COLUMNS, KINDS, TEXT_COLUMNS
from .catalogs.source import BACKENDS, CatalogSpec
from .policies import CachePolicy, RSSThresholdLRU, available_policies
from .policies.base import allowed_values


class ConfigError(ValueError):
    """A configuration problem; the message names the file, the key and what is allowed."""


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, turning a missing file or a syntax error into a ConfigError."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a TOML config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (TOML must be UTF-8)") from None


def policy_from_table(table: Any, source: str, where: str = "[policy]") -> CachePolicy:
    """Build a policy from a parsed table such as ``{"name": "AgeBased", "max_age": 60}``."""
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: {where} must be a table with a 'name' key")
    known = available_policies()
    name = table.get("name")
    if not isinstance(name, str) or name not in known:
        got = "is missing" if name is None else f"= {name!r} is not a known policy"
        raise ConfigError(f"{source}: {where} name {got}; known policies: {', '.join(known)}")
    cls = known[name]
    params = cls.param.objects("existing")
    values = {k: v for k, v in table.items() if k != "name"}
    for key, value in values.items():
        if key not in params or key == "name":
            allowed = ", ".join(k for k in params if k != "name")
            raise ConfigError(f"{source}: {where} unknown key {key!r} for {name}; allowed keys: {allowed}")
        try:
            params[key]._validate(value)
        except ValueError:
            raise ConfigError(f"{source}: {where} {key} = {value!r} is not allowed for {name}: use {allowed_values(params[key])}") from None
    try:
        return cls(**values)
    except ValueError as exc:  # constraints across parameters, e.g. low_water < high_water
        raise ConfigError(f"{source}: {where} {exc}") from None


def policy_from_config(path: str | Path) -> CachePolicy:
    """The policy a TOML config file selects in its ``[policy]`` table."""
    data = read_toml(path)
    if "policy" not in data:
        raise ConfigError(f"{path}: no [policy] table; add one with name = one of {', '.join(available_policies())}")
    return policy_from_table(data["policy"], str(path))


# -- the whole file: policy, data folders, catalogs, viewer, trace -----------------------------

CATALOG_KEYS = ("files", "kind", "columns", "missing", "float64", "format", "backend", "scheduler", "extra")
SECTIONS = ("policy", "data", "catalogs", "viewer", "trace")


@dataclass
class Config:
    """A parsed config file. Paths in it are relative to the file's own folder."""

    path: Path
    base: Path  # the folder relative paths resolve against
    policy: CachePolicy
    folders: tuple[Path, ...]
    catalogs: dict[str, CatalogSpec]
    generate: str | None = None  # preset to generate when the catalogs' files are missing
    viewer: dict[str, Any] = field(default_factory=dict)
    trace: Path | None = None


def _expect(value: Any, kind: type | tuple, source: str, where: str, allowed: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{source}: {where} = {value!r} is not allowed: use {allowed}")
    return value


def _catalog_spec(name: str, table: Any, base: Path, folders: tuple[Path, ...], source: str) -> CatalogSpec:
    where = f"[catalogs.{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: {where} must be a table with 'files' and 'kind'")
    for key in table:
        if key not in CATALOG_KEYS:
            raise ConfigError(f"{source}: {where} unknown key {key!r}; allowed keys: {', '.join(CATALOG_KEYS)}")
    files = table.get("files")
    if isinstance(files, str):
        files = [files]
    if not files or not all(isinstance(f, str) and f for f in files):
        raise ConfigError(f"{source}: {where} files must be a file path or a list of them (globs allowed), relative to {base}")
    kind = table.get("kind", "clusters")
    if kind not in KINDS:
        raise ConfigError(f"{source}: {where} kind = {kind!r} is not allowed: use one of {', '.join(map(repr, KINDS))}")
    columns = _expect(table.get("columns", {}), dict, source, f"{where} columns", "a table of canonical = \"SOURCE_COLUMN\"")
    known = set(EUCLID_COLUMNS[kind]) | set(TEXT_COLUMNS)
    for canonical, column in columns.items():
        if canonical not in known:
            raise ConfigError(f"{source}: {where} columns: unknown canonical column {canonical!r} for {kind}; allowed: {', '.join([*EUCLID_COLUMNS[kind], *TEXT_COLUMNS])}")
        _expect(column, str, source, f"{where} columns.{canonical}", "a source column name (a string)")
    missing_required = required_missing(columns) if columns else []
    if missing_required:
        raise ConfigError(f"{source}: {where} columns must map {', '.join(missing_required)} (every catalog needs sky positions)")
    missing = _expect(table.get("missing", {}), dict, source, f"{where} missing", "a table of canonical = [sentinel values]")
    sentinels = {}
    for canonical, values in missing.items():
        values = values if isinstance(values, list) else [values]
        if canonical not in known or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise ConfigError(f"{source}: {where} missing.{canonical} = {missing[canonical]!r} is not allowed: use a canonical column of {kind} and a number or list of numbers")
        sentinels[canonical] = [float(v) for v in values]
    float64 = _expect(table.get("float64", []), list, source, f"{where} float64", "a list of canonical columns to keep as float64")
    if any(c not in known for c in float64):
        raise ConfigError(f"{source}: {where} float64 = {float64!r}: allowed columns: {', '.join(EUCLID_COLUMNS[kind])}")
    fmt = table.get("format")
    if fmt is not None and fmt not in READERS:
        raise ConfigError(f"{source}: {where} format = {fmt!r} is not allowed: use one of {', '.join(map(repr, READERS))}, or leave it out to go by file ending")
    backend = table.get("backend", "pandas")
    if backend not in BACKENDS:
        raise ConfigError(f"{source}: {where} backend = {backend!r} is not allowed: use one of {', '.join(map(repr, BACKENDS))}")
    scheduler = table.get("scheduler")
    if scheduler is not None:
        _expect(scheduler, str, source, f"{where} scheduler", "a Dask scheduler address such as 'tcp://10.0.0.5:8786'")
    resolved = tuple(str((base / f).resolve()) if not glob.has_magic(f) else str(base / f) for f in files)
    for f in resolved:
        real = Path(f).resolve() if not glob.has_magic(f) else Path(f).parent.resolve()
        if not any(real == d or d in real.parents for d in folders):
            raise ConfigError(f"{source}: {where} file {f} is outside the data folders ({', '.join(map(str, folders))}); add its folder to [data] folders")
    extra = table.get("extra", [])
    if isinstance(extra, str):
        extra = [extra]
    if not isinstance(extra, list) or not all(isinstance(c, str) and c for c in extra) or set(extra) & (known | {"x_allsky", "y_allsky"}):
        raise ConfigError(f"{source}: {where} extra = {table.get('extra')!r} is not allowed: use a list of source column names to show "
                          f"as they are (not named like a canonical column: {', '.join(sorted(known))})")
    return CatalogSpec(name, kind, resolved, folders, dict(columns), sentinels, frozenset(float64), fmt, backend, scheduler, tuple(extra))


VIEWER_KEYS = {"title": "the page title", "catalog": "the catalog shown first", "members": "the members catalog the toggle overlays",
               "reports": "a folder of `vizcache compare` reports to list",
               "max_points": "rows of a HATS catalog a view draws at most; wider views show its density"}
#: [viewer] max_points: allowed range (the HATS layer's own parameter bounds)
MAX_POINTS_BOUNDS = (1_000, 500_000_000)


def _viewer_settings(table: Any, catalogs: dict[str, CatalogSpec], source: str) -> dict[str, Any]:
    table = _expect(table, dict, source, "[viewer]", "a table with " + ", ".join(VIEWER_KEYS))
    for key, value in table.items():
        if key not in VIEWER_KEYS:
            raise ConfigError(f"{source}: [viewer] unknown key {key!r}; allowed keys: {', '.join(VIEWER_KEYS)}")
        if key == "max_points":
            lo, hi = MAX_POINTS_BOUNDS
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ConfigError(f"{source}: [viewer] max_points = {value!r}: a whole number from {lo:,} to {hi:,} ({VIEWER_KEYS[key]})")
            continue
        _expect(value, str, source, f"[viewer] {key}", f"a string: {VIEWER_KEYS[key]}")
    for key, kind in (("catalog", None), ("members", "members")):
        name = table.get(key)
        if name is None:
            continue
        allowed = [n for n, spec in catalogs.items() if kind is None or spec.kind == kind]
        if name not in allowed:
            raise ConfigError(f"{source}: [viewer] {key} = {name!r} is not a configured {kind or ''} catalog; allowed: {', '.join(allowed) or 'none'}")
    return dict(table)


def load_config(path: str | Path, base: Path | None = None) -> Config:
    """Parse and check a whole config file; every problem is one ConfigError.

    Relative paths resolve against ``base``, by default the file's own folder.
    """
    path = Path(path).resolve()
    data = read_toml(path)
    source, base = str(path), (base or path.parent).resolve()
    for section in data:
        if section not in SECTIONS:
            raise ConfigError(f"{source}: unknown section [{section}]; allowed sections: {', '.join(SECTIONS)}")
    policy = policy_from_table(data["policy"], source) if "policy" in data else RSSThresholdLRU()
    data_table = _expect(data.get("data", {}), dict, source, "[data]", "a table with folders and generate")
    for key in data_table:
        if key not in ("folders", "generate"):
            raise ConfigError(f"{source}: [data] unknown key {key!r}; allowed keys: folders, generate")
    folder_list = data_table.get("folders", ["."])
    if isinstance(folder_list, str):
        folder_list = [folder_list]
    if not isinstance(folder_list, list) or not all(isinstance(f, str) for f in folder_list):
        raise ConfigError(f"{source}: [data] folders must be a list of folder paths relative to {base}")
    folders = tuple((base / f).resolve() for f in folder_list)
    generate = data_table.get("generate")
    if generate is not None and generate not in PRESETS:
        raise ConfigError(f"{source}: [data] generate = {generate!r} is not allowed: use one of {', '.join(map(repr, PRESETS))}, or leave it out")
    catalogs_table = _expect(data.get("catalogs", {}), dict, source, "[catalogs]", "tables such as [catalogs.PZWAV]")
    catalogs = {name: _catalog_spec(name, t, base, folders, source) for name, t in catalogs_table.items()}
    viewer = _viewer_settings(data.get("viewer", {}), catalogs, source)
    trace_table = _expect(data.get("trace", {}), dict, source, "[trace]", "a table with path")
    trace = trace_table.get("path")
    if trace is not None:
        _expect(trace, str, source, "[trace] path", "a file path for the JSON Lines access trace")
        if (base / trace).resolve().is_dir() or trace.endswith(("/", "\\")):  # else every page fails on IsADirectoryError
            raise ConfigError(f"{source}: [trace] path = {trace!r} is a folder: use a file path such as \"traces/viewer.jsonl\"")
    return Config(path, base, policy, folders, catalogs, generate, viewer, (base / trace).resolve() if trace else None)
