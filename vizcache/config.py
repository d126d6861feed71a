"""The viewer's TOML file: data folders, catalogs, ``[viewer]`` settings and the trace — one clear error when wrong.

Its ``[policy]`` table is read by the cache's own reader, ``vizcache.policies.config``.
"""

from __future__ import annotations

import glob
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalogs.generate import PRESETS
from .catalogs.lsdb_tier import DaskSettings
from .catalogs.readers import READERS, required_missing
from .catalogs.schema import EUCLID_COLUMNS, KINDS, TEXT_COLUMNS
from .catalogs.source import BACKENDS, CatalogSpec
from .config_file import ConfigError, read_toml, shown
from .policies import CachePolicy, RSSThresholdLRU
from .policies.config import policy_from_config, policy_from_table
from .viewer.settings import ViewerSettings

__all__ = ["Config", "ConfigError", "load_config", "policy_from_config", "policy_from_table", "read_toml"]


# -- the whole file: policy, data folders, catalogs, viewer, trace -----------------------------

CATALOG_KEYS = ("files", "kind", "columns", "missing", "float64", "format", "backend", "scheduler", "extra")
SECTIONS = ("policy", "data", "catalogs", "viewer", "trace", "dask")
DASK_KEYS = ("scheduler", "workers", "threads_per_worker", "memory_limit")


@dataclass
class Config:
    """A parsed config file. Paths in it are relative to the file's own folder."""

    path: Path
    base: Path  # the folder relative paths resolve against
    policy: CachePolicy
    folders: tuple[Path, ...]
    catalogs: dict[str, CatalogSpec]
    generate: str | None = None  # preset to generate when the catalogs' files are missing
    viewer: ViewerSettings = field(default_factory=ViewerSettings)
    trace: Path | None = None
    dask: DaskSettings | None = None  # [dask]: HATS counts and the finder crossmatch on a cluster (None: this process's threads)


def _expect(value: Any, kind: type | tuple, source: str, where: str, allowed: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool or value == "":
        raise ConfigError(f"{source}: {where} = {shown(value)} is not allowed: use {allowed}")
    return value


def _choice(value: Any, allowed: tuple | dict, source: str, where: str, alternative: str = "") -> Any:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{source}: {where} = {shown(value)} is not allowed: use one of {', '.join(map(repr, allowed))}{alternative}")
    return value


def _resolved(text: str, base: Path, source: str, where: str) -> Path:
    """``base / text`` resolved (links and ``..``); a path no file could have is a ConfigError naming the key.

    A path that does not exist yet is fine: data is generated, a trace file created.
    """
    if "\0" in text:
        raise ConfigError(f"{source}: {where} = {shown(text)} holds a NUL character, which no path can")
    try:
        path = (base / text).resolve()
        os.stat(path)
    except RuntimeError:  # how Python before 3.13 reports a symlink loop
        raise ConfigError(f"{source}: {where} = {shown(text)}: too many levels of symbolic links (a loop)") from None
    except (FileNotFoundError, NotADirectoryError):
        return path
    except OSError as exc:  # a name too long, a loop found by stat
        raise ConfigError(f"{source}: {where} = {shown(text)}: {exc.strerror}") from None
    return path


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else shown(name)


def _catalog_spec(name: str, table: Any, base: Path, folders: tuple[Path, ...], source: str) -> CatalogSpec:
    where = f"[catalogs.{_toml_key(name)}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: {where} must be a table with 'files' and 'kind'")
    for key in table:
        if key not in CATALOG_KEYS:
            raise ConfigError(f"{source}: {where} unknown key {shown(key)}; allowed keys: {', '.join(CATALOG_KEYS)}")
    files = table.get("files")
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not files or not all(isinstance(f, str) and f for f in files):
        got = "" if "files" not in table else f", not {shown(table['files'])}"
        raise ConfigError(f"{source}: {where} files must be a file path or a list of them (globs allowed), relative to {base}{got}")
    kind = _choice(table.get("kind", "clusters"), KINDS, source, f"{where} kind")
    columns = _expect(table.get("columns", {}), dict, source, f"{where} columns", "a table of canonical = \"SOURCE_COLUMN\"")
    known = set(EUCLID_COLUMNS[kind]) | set(TEXT_COLUMNS)
    for canonical, column in columns.items():
        if canonical not in known:
            raise ConfigError(f"{source}: {where} columns: unknown canonical column {shown(canonical)} for {kind}; "
                              f"allowed: {', '.join([*EUCLID_COLUMNS[kind], *TEXT_COLUMNS])}")
        _expect(column, str, source, f"{where} columns.{canonical}", "a source column name (a string)")
    missing_required = required_missing(columns) if columns else []
    if missing_required:
        raise ConfigError(f"{source}: {where} columns must map {', '.join(missing_required)} (every catalog needs sky positions)")
    missing = _expect(table.get("missing", {}), dict, source, f"{where} missing", "a table of canonical = [sentinel values]")
    sentinels = {}
    for canonical, values in missing.items():
        values = values if isinstance(values, list) else [values]
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
        if canonical not in known or not numbers:
            raise ConfigError(f"{source}: {where} missing.{_toml_key(canonical)} = {shown(missing[canonical])} is not allowed: "
                              f"use a canonical column of {kind} and a finite number or list of them")
        sentinels[canonical] = [float(v) for v in values]
    float64 = _expect(table.get("float64", []), list, source, f"{where} float64", "a list of canonical columns to keep as float64")
    if not all(isinstance(c, str) and c in known for c in float64):
        raise ConfigError(f"{source}: {where} float64 = {shown(float64)}: allowed columns: {', '.join(EUCLID_COLUMNS[kind])}")
    fmt = table.get("format")
    if fmt is not None:
        _choice(fmt, READERS, source, f"{where} format", ", or leave it out to go by file ending")
    backend = _choice(table.get("backend", "pandas"), BACKENDS, source, f"{where} backend")
    scheduler = table.get("scheduler")
    if scheduler is not None and not (isinstance(scheduler, str) and re.fullmatch(r"[^\s\x00-\x1f]{1,255}", scheduler)):
        raise ConfigError(f"{source}: {where} scheduler = {shown(scheduler)} is not allowed: use a Dask scheduler address "
                          "such as 'tcp://10.0.0.5:8786'")
    resolved = []
    for f in files:
        if glob.has_magic(f):  # the pattern's folder is what must lie inside the data folders
            real, pattern = _resolved(str(Path(f).parent), base, source, f"{where} files"), base / f
        else:
            real = pattern = _resolved(f, base, source, f"{where} files")
        if not any(real == d or d in real.parents for d in folders):
            raise ConfigError(f"{source}: {where} file {pattern} is outside the data folders ({', '.join(map(str, folders))}); "
                              "add its folder to [data] folders")
        resolved.append(str(pattern))
    extra = table.get("extra", [])
    if isinstance(extra, str):
        extra = [extra]
    if not isinstance(extra, list) or not all(isinstance(c, str) and c for c in extra) or set(extra) & (known | {"x_allsky", "y_allsky"}):
        raise ConfigError(f"{source}: {where} extra = {shown(table.get('extra'))} is not allowed: use a list of source column names "
                          f"to show as they are (not named like a canonical column: {', '.join(sorted(known))})")
    return CatalogSpec(name, kind, tuple(resolved), folders, dict(columns), sentinels, frozenset(float64), fmt, backend, scheduler,
                       tuple(extra))


def _viewer_settings(table: Any, catalogs: dict[str, CatalogSpec], base: Path, source: str) -> ViewerSettings:
    keys = ViewerSettings.keys()  # what each key takes is ViewerSettings' to say; the file and catalogs are checked here
    table = _expect(table, dict, source, "[viewer]", "a table with " + ", ".join(keys))
    for key, value in table.items():
        if key not in keys:
            raise ConfigError(f"{source}: [viewer] unknown key {shown(key)}; allowed keys: {', '.join(keys)}")
        refusal = ViewerSettings.refusal(key, value)
        if refusal is not None:
            raise ConfigError(f"{source}: [viewer] {key} = {shown(value)} is not allowed: {refusal}")
    if "reports" in table:
        _resolved(table["reports"], base, source, "[viewer] reports")
    for key, kind in (("catalog", None), ("members", "members")):
        name = table.get(key)
        if name is None:
            continue
        allowed = [n for n, spec in catalogs.items() if kind is None or spec.kind == kind]
        if name not in allowed:
            raise ConfigError(f"{source}: [viewer] {key} = {shown(name)} is not a configured {kind or ''} catalog; "
                              f"allowed: {', '.join(allowed) or 'none'}")
    return ViewerSettings(**table)


def _trace_path(table: Any, base: Path, source: str) -> Path | None:
    table = _expect(table, dict, source, "[trace]", "a table with path")
    for key in table:
        if key != "path":
            raise ConfigError(f"{source}: [trace] unknown key {shown(key)}; allowed keys: path")
    trace = table.get("path")
    if trace is None:
        return None
    if not isinstance(trace, str):
        raise ConfigError(f"{source}: [trace] path = {shown(trace)} is not allowed: use a file path such as \"traces/viewer.jsonl\"")
    path = _resolved(trace, base, source, "[trace] path")  # "" is the config's own folder
    if path.is_dir() or trace.endswith(("/", "\\")):  # else every page fails on IsADirectoryError
        raise ConfigError(f"{source}: [trace] path = {shown(trace)} is a folder: use a file path such as \"traces/viewer.jsonl\"")
    return path


def _dask_settings(table: Any, source: str) -> DaskSettings | None:
    """``[dask]``: ``scheduler = "local"`` (a LocalCluster of ``workers`` processes) or a scheduler's address."""
    table = _expect(table, dict, source, "[dask]", "a table with scheduler (\"local\" or \"tcp://host:port\")")
    if not table:
        return None
    for key in table:
        if key not in DASK_KEYS:
            raise ConfigError(f"{source}: [dask] unknown key {shown(key)}; allowed keys: {', '.join(DASK_KEYS)}")
    scheduler = table.get("scheduler")
    if not (isinstance(scheduler, str) and (scheduler == "local" or re.fullmatch(r"(tcp|tls|inproc|ucx)://[^\s\x00-\x1f]{1,250}", scheduler))):
        raise ConfigError(f"{source}: [dask] scheduler = {shown(scheduler)} is not allowed: use \"local\" (a LocalCluster this "
                          "process starts) or a scheduler's address such as \"tcp://10.0.0.5:8786\"")
    sizes = {}
    for key, high in (("workers", 64), ("threads_per_worker", 64)):
        value = table.get(key, getattr(DaskSettings, key))
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
            raise ConfigError(f"{source}: [dask] {key} = {shown(value)} is not allowed: use a whole number from 1 to {high}")
        sizes[key] = value
    memory = table.get("memory_limit", "auto")
    if not (memory == "auto" or isinstance(memory, str) and re.fullmatch(r"\d+(\.\d+)?\s*(B|kB|KiB|MB|MiB|GB|GiB|TB|TiB)", memory)
            or isinstance(memory, int) and not isinstance(memory, bool) and 2**26 <= memory <= 2**50):
        raise ConfigError(f"{source}: [dask] memory_limit = {shown(memory)} is not allowed: use \"auto\", a size such as \"2GiB\" "
                          "or a number of bytes (at least 64 MiB)")
    if scheduler != "local" and len(table) > 1:
        raise ConfigError(f"{source}: [dask] {', '.join(k for k in table if k != 'scheduler')}: only for scheduler = \"local\" "
                          "(a running scheduler's workers are sized where they are started)")
    return DaskSettings(scheduler, memory_limit=memory, **sizes)


def load_config(path: str | Path, base: Path | None = None) -> Config:
    """Parse and check a whole config file; every problem is one ConfigError.

    Relative paths resolve against ``base``, by default the file's own folder.
    """
    data = read_toml(path)  # first: it refuses what is not a config file (a FIFO, a symlink loop) before anything resolves it
    path = Path(path).resolve()
    source, base = str(path), (base or path.parent).resolve()
    for section in data:
        if section not in SECTIONS:
            raise ConfigError(f"{source}: unknown section [{_toml_key(section)}]; allowed sections: {', '.join(SECTIONS)}")
    policy = policy_from_table(data["policy"], source) if "policy" in data else RSSThresholdLRU()
    data_table = _expect(data.get("data", {}), dict, source, "[data]", "a table with folders and generate")
    for key in data_table:
        if key not in ("folders", "generate"):
            raise ConfigError(f"{source}: [data] unknown key {shown(key)}; allowed keys: folders, generate")
    folder_list = data_table.get("folders", ["."])
    if isinstance(folder_list, str):
        folder_list = [folder_list]
    if not isinstance(folder_list, list) or not all(isinstance(f, str) and f for f in folder_list):
        raise ConfigError(f"{source}: [data] folders must be a list of folder paths relative to {base} (\".\" for that folder "
                          f"itself), not {shown(data_table['folders'])}")
    folders = tuple(_resolved(f, base, source, "[data] folders") for f in folder_list)
    generate = data_table.get("generate")
    if generate is not None:
        _choice(generate, PRESETS, source, "[data] generate", ", or leave it out")
    catalogs_table = _expect(data.get("catalogs", {}), dict, source, "[catalogs]", "tables such as [catalogs.PZWAV]")
    catalogs = {name: _catalog_spec(name, t, base, folders, source) for name, t in catalogs_table.items()}
    viewer = _viewer_settings(data.get("viewer", {}), catalogs, base, source)
    trace = _trace_path(data.get("trace", {}), base, source)
    return Config(path, base, policy, folders, catalogs, generate, viewer, trace, _dask_settings(data.get("dask", {}), source))
