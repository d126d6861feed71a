"""Experiment files: the data, the memory headroom, the workload, and the policies to compare.

    [experiment]
    repetitions = 3
    seed = 7
    memory_headroom = "120MiB"  # RSS limit = the run's baseline RSS + this; size budgets = this
    layout = "old-app"          # how a loaded catalog is held: "old-app" (nested, object strings) or "frame"

    [data]
    preset = "small"            # generated once into OUT/data; `clusters` overrides its size

    [workload]
    kind = "zipf"               # old-app | zipf | bursty | scan | trace
    requests = 200

    [[policies]]
    label = "getsizeof"
    name = "SizeEstimatedLRU"
    estimator = "getsizeof"
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..catalogs.generate import PRESETS
from ..config import ConfigError, policy_from_table, read_toml
from ..units import SIZE_HELP, parse_bytes
from .workloads import KINDS

LAYOUTS = ("old-app", "frame")
QUICK_CLUSTERS = 80_000
SECTIONS = {"experiment": ("name", "repetitions", "seed", "memory_headroom", "layout"),
            "data": ("preset", "clusters"),
            "workload": ("kind", "requests", "trace", "skew")}


@dataclass(frozen=True)
class PolicyRun:
    label: str
    table: dict[str, Any]  # the [[policies]] table, as a policy config


@dataclass(frozen=True)
class Experiment:
    path: Path
    name: str
    repetitions: int
    seed: int
    headroom: int
    layout: str
    preset: str
    clusters: int
    workload: str
    requests: int
    trace: Path | None
    skew: float
    policies: tuple[PolicyRun, ...] = field(default_factory=tuple)

    def quick(self) -> Experiment:
        """Small data, two repetitions, a short workload; the headroom scales with the data."""
        clusters = min(self.clusters, QUICK_CLUSTERS)
        return replace(self, preset="small", clusters=clusters, repetitions=min(self.repetitions, 2),
                       requests=min(self.requests, 60), headroom=max(2**20, self.headroom * clusters // self.clusters))


def _get(table: dict, key: str, kind, default, source: str, where: str, allowed: str):
    value = table.get(key, default)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{source}: {where} {key} = {value!r} is not allowed: use {allowed}")
    return value


def load_experiment(path: str | Path) -> Experiment:
    """Parse and check an experiment file; every problem is one ConfigError naming file and key."""
    path = Path(path).resolve()
    data = read_toml(path)
    source = str(path)
    for section, table in data.items():
        if section == "policies":
            continue
        if section not in SECTIONS:
            raise ConfigError(f"{source}: unknown section [{section}]; allowed: {', '.join(SECTIONS)}, [[policies]]")
        for key in table:
            if key not in SECTIONS[section]:
                raise ConfigError(f"{source}: [{section}] unknown key {key!r}; allowed keys: {', '.join(SECTIONS[section])}")
    exp, dat, wl = data.get("experiment", {}), data.get("data", {}), data.get("workload", {})
    repetitions = _get(exp, "repetitions", int, 3, source, "[experiment]", "a whole number from 1 to 50")
    if not 1 <= repetitions <= 50:
        raise ConfigError(f"{source}: [experiment] repetitions = {repetitions} is not allowed: use a whole number from 1 to 50")
    headroom_text = exp.get("memory_headroom", "256MiB")
    try:
        headroom = parse_bytes(headroom_text)
    except ValueError:
        raise ConfigError(f"{source}: [experiment] memory_headroom = {headroom_text!r} is not allowed: use {SIZE_HELP}") from None
    layout = _get(exp, "layout", str, "old-app", source, "[experiment]", "'old-app' or 'frame'")
    if layout not in LAYOUTS:
        raise ConfigError(f"{source}: [experiment] layout = {layout!r} is not allowed: use one of {', '.join(map(repr, LAYOUTS))}")
    preset = _get(dat, "preset", str, "small", source, "[data]", f"one of {', '.join(PRESETS)}")
    if preset not in PRESETS:
        raise ConfigError(f"{source}: [data] preset = {preset!r} is not allowed: use one of {', '.join(map(repr, PRESETS))}")
    clusters = _get(dat, "clusters", int, PRESETS[preset].true_clusters, source, "[data]", "a whole number of true clusters, 100 or more")
    kind = _get(wl, "kind", str, "old-app", source, "[workload]", f"one of {', '.join(KINDS)}")
    if kind not in KINDS:
        raise ConfigError(f"{source}: [workload] kind = {kind!r} is not allowed: use one of {', '.join(map(repr, KINDS))}")
    requests = _get(wl, "requests", int, 100, source, "[workload]", "a whole number from 1 to 1000000")
    trace = wl.get("trace")
    if kind == "trace":
        if not isinstance(trace, str):
            raise ConfigError(f"{source}: [workload] kind = 'trace' needs trace = \"path/to/trace.jsonl\" (relative to {path.parent})")
        trace = (path.parent / trace).resolve()
        if not trace.is_file():
            raise ConfigError(f"{source}: [workload] trace = {str(trace)!r}: no such file")
    policies = data.get("policies")
    if not isinstance(policies, list) or not policies:
        raise ConfigError(f"{source}: no [[policies]] to compare; add at least one table with label and name")
    runs = []
    for i, table in enumerate(policies, 1):
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [[policies]] #{i} must be a table")
        label = table.get("label", table.get("name"))
        if not isinstance(label, str) or not label:
            raise ConfigError(f"{source}: [[policies]] #{i} needs a label (or name)")
        policy_table = {k: v for k, v in table.items() if k != "label"}
        policy_from_table(policy_table, source, where=f"[[policies]] {label!r}")  # validates names, keys, bounds
        runs.append(PolicyRun(label, policy_table))
    labels = [r.label for r in runs]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"{source}: [[policies]] labels must differ; got {', '.join(labels)}")
    return Experiment(path, _get(exp, "name", str, path.stem, source, "[experiment]", "a string"), repetitions,
                      _get(exp, "seed", int, 0, source, "[experiment]", "a whole number"), headroom, layout, preset,
                      clusters, kind, requests, trace, float(_get(wl, "skew", (int, float), 1.1, source, "[workload]", "a number")),
                      tuple(runs))
