"""Experiment files: the data, one memory budget, the workload, the policies, and the decision to make.

    [experiment]
    repetitions = 5
    seed = 7
    budget = "40%"          # cache memory above each run's baseline RSS, the same for every policy:
                            # a size ("1.5GiB") or a share of the working set ("40%")
    budgets = ["10%", "25%", "40%", "60%", "90%", "120%"]   # optional: a sweep of real runs
    layout = "old-app"      # how a loaded catalog is held: "old-app", "frame" or "seed"

    [decision]
    baseline = "getsizeof"  # the policy in use today
    memory = "hard"         # "hard": a policy that leaves RSS over the limit after a request does not qualify;
                            # "soft": reported only
    tolerance = 0.02        # share of the budget RSS may exceed the limit by and still count as held (RSS noise)
    switch_p95_ms = 150     # optional objective

    [thresholds]            # smallest difference worth a verdict
    relative = 0.10
    latency_ms = 1.0

    [data]
    preset = "small"        # generated once into OUT/data; clusters, members_per_richness, rows_per_file override it
    quick_clusters = 80000  # --quick scales the data down to this many true clusters

    [workload]
    kind = "zipf"           # old-app | finders | zipf | bursty | scan | shift | trace
    requests = 200
    warmup = 40             # the first requests fill the cache: reported apart, not in hit ratio or latencies
    threads = 1             # replay the requests from this many threads at once (loads overlap)
    quick_requests = 160    # --quick keeps at most this many (default 40; 200 for a trace replayed key by key)
    # trace only: keys = "catalog" (a key's first element names a catalog) or "recorded" (each recorded
    # key one entry of its recorded size), load_scale, report_size

    [[policies]]
    label = "getsizeof"
    name = "SizeEstimatedLRU"
    estimator = "getsizeof"

Every number is checked here, before any data is generated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..catalogs.generate import PRESETS
from ..config import ConfigError, policy_from_table, read_toml
from ..units import SIZE_HELP, format_bytes, parse_bytes
from .workloads import KINDS

LAYOUTS = ("old-app", "frame", "seed")
#: how a trace's keys become requests: catalog names (its first element), or one entry per recorded key
TRACE_KEYS = ("catalog", "recorded")
#: --quick scales the data (and budgets given in bytes with it) down to at most this many true clusters.
QUICK_CLUSTERS = 80_000
QUICK_REPETITIONS = 3
QUICK_REQUESTS = 40
#: a trace replayed key by key keeps more: its entries are partitions, and 40 requests never fill a cache of them
QUICK_RECORDED_REQUESTS = 200
MIN_BUDGET, MAX_BUDGET = 2**20, 2**44
#: [workload] threads: enough to overlap every load of a session's worth of keys, few enough for one process
MAX_THREADS = 64
SECTIONS = {
    "experiment": ("name", "repetitions", "seed", "budget", "budgets", "layout"),
    "decision": ("baseline", "memory", "tolerance", "switch_p95_ms"),
    "thresholds": ("relative", "latency_ms"),
    "data": ("preset", "clusters", "members_per_richness", "rows_per_file", "quick_clusters"),
    "workload": ("kind", "requests", "warmup", "threads", "quick_requests", "trace", "keys", "load_scale", "report_size", "skew",
                 "stats_after_request", "hot", "shift_at", "shift_fraction"),
}


@dataclass(frozen=True)
class PolicyRun:
    label: str
    table: dict[str, Any]  # the [[policies]] table, as a policy config


@dataclass(frozen=True)
class Decision:
    baseline: str
    memory: str  # "hard" | "soft"
    tolerance: float
    switch_p95_ms: float | None


@dataclass(frozen=True)
class Workload:
    kind: str
    requests: int
    trace: Path | None = None
    skew: float = 1.1
    stats_after_request: bool = False  # the old viewer showed cache stats after every switch
    hot: int = 8
    shift_at: float = 0.5
    shift_fraction: float = 1.0
    keys: str = "catalog"  # trace: "catalog" | "recorded"
    load_scale: float = 1.0  # recorded keys: a load takes the recorded load time times this
    report_size: bool = False  # recorded keys: loads return vizcache.Sized(value, recorded size)
    warmup: int = 0  # the first requests of a run: reported apart, left out of hit ratio and latencies
    threads: int = 1  # requests replayed from this many threads at once
    quick_requests: int | None = None  # --quick keeps at most this many requests (None: QUICK_REQUESTS or QUICK_RECORDED_REQUESTS)

    @property
    def recorded(self) -> bool:
        """Each recorded key is its own entry, synthesised at its recorded size: no catalogs are generated."""
        return self.kind == "trace" and self.keys == "recorded"


@dataclass(frozen=True)
class Experiment:
    path: Path
    name: str
    repetitions: int
    seed: int
    budget: Budget
    budgets: tuple[Budget, ...]  # the sweep; empty for none
    layout: str
    preset: str
    clusters: int
    members_per_richness: float
    rows_per_file: int
    quick_clusters: int
    workload: Workload
    decision: Decision
    relative_threshold: float = 0.10
    latency_threshold_ms: float = 1.0
    policies: tuple[PolicyRun, ...] = field(default_factory=tuple)
    quick_run: bool = False

    def quick(self) -> Experiment:
        """Scaled-down data (as many member files, smaller; byte budgets scale with it), 3 repetitions, a short workload, no real-run sweep
        (the simulator still sweeps). A trace replayed key by key keeps its recorded sizes and its first 200 requests."""
        factor = 1.0 if self.workload.recorded else min(1.0, self.quick_clusters / self.clusters)  # recorded sizes stay
        requests = min(self.workload.requests, self.quick_requests)
        warmup = self.workload.warmup * requests // self.workload.requests  # the same share of a shorter run
        return replace(self, clusters=max(100, int(self.clusters * factor)), rows_per_file=max(1000, int(self.rows_per_file * factor)),
                       repetitions=min(self.repetitions, QUICK_REPETITIONS),
                       budget=self.budget.scaled(factor), budgets=(),
                       workload=replace(self.workload, requests=requests, warmup=warmup), quick_run=True)

    @property
    def quick_requests(self) -> int:
        if self.workload.quick_requests is not None:  # a workload whose cold misses would decide 40 requests
            return self.workload.quick_requests
        return QUICK_RECORDED_REQUESTS if self.workload.recorded else QUICK_REQUESTS

    def budget_bytes(self, working_set: int) -> tuple[int, list[int]]:
        """The decision budget and the sweep (the decision budget included), in bytes, for this working set."""
        budget = self.budget.bytes(working_set)
        return budget, sorted({budget, *(b.bytes(working_set) for b in self.budgets)}) if self.budgets else [budget]


@dataclass(frozen=True)
class Budget:
    """Bytes of cache memory above the baseline: absolute, or a share of the working set (known once measured)."""

    absolute: int | None = None
    share: float | None = None

    def bytes(self, working_set: int) -> int:
        return self.absolute if self.absolute is not None else max(MIN_BUDGET, int(self.share * working_set))

    def scaled(self, factor: float) -> Budget:
        return self if self.absolute is None else Budget(max(MIN_BUDGET, int(self.absolute * factor)))

    def __str__(self) -> str:
        return format_bytes(self.absolute) if self.absolute is not None else f"{self.share:.0%} of the working set"


class _Reader:
    """Typed, bounded reads of one table; each problem is a ConfigError naming file, section and key."""

    def __init__(self, source: str, section: str, table: dict) -> None:
        self.source, self.section, self.table = source, section, table

    def fail(self, key: str, value, allowed: str):
        raise ConfigError(f"{self.source}: [{self.section}] {key} = {value!r} is not allowed: use {allowed}")

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.fail(key, value, f"a whole number from {lo} to {hi}")
        return value

    def number(self, key: str, default: float | None, lo: float, hi: float, none_ok: bool = False) -> float | None:
        value = self.table.get(key, default)
        if value is None and none_ok:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not lo <= value <= hi:
            self.fail(key, value, f"a finite number from {lo} to {hi}")
        return float(value)

    def choice(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.table.get(key, default)
        if value not in allowed:
            self.fail(key, value, "one of " + ", ".join(map(repr, allowed)))
        return value

    def boolean(self, key: str) -> bool:
        value = self.table.get(key, False)
        if not isinstance(value, bool):
            self.fail(key, value, "true or false")
        return value

    def size(self, key: str, value) -> Budget:
        allowed = f"{SIZE_HELP}, from {format_bytes(MIN_BUDGET)} to {format_bytes(MAX_BUDGET)}, or a share of the working set (\"40%\", 1% to 1000%)"
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(key, value, allowed)
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                share = float(value.strip()[:-1]) / 100
            except ValueError:
                self.fail(key, value, allowed)
            if not math.isfinite(share) or not 0.01 <= share <= 10:
                self.fail(key, value, allowed)
            return Budget(share=share)
        try:
            nbytes = parse_bytes(value)
        except (ValueError, OverflowError):
            self.fail(key, value, allowed)
        if not MIN_BUDGET <= nbytes <= MAX_BUDGET:
            self.fail(key, value, allowed)
        return Budget(absolute=nbytes)


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
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        for key in table:
            if key not in SECTIONS[section]:
                raise ConfigError(f"{source}: [{section}] unknown key {key!r}; allowed keys: {', '.join(SECTIONS[section])}")
    exp, dec, thr, dat, wl = (_Reader(source, s, data.get(s, {})) for s in ("experiment", "decision", "thresholds", "data", "workload"))

    repetitions = exp.integer("repetitions", 5, 1, 50)
    seed = exp.integer("seed", 0, 0, 2**32 - 1)
    budget = exp.size("budget", exp.table.get("budget", "50%"))
    sweep = exp.table.get("budgets", [])
    if not isinstance(sweep, list) or len(sweep) > 12:
        exp.fail("budgets", sweep, "a list of up to 12 sizes or shares of the working set")
    budgets = tuple(exp.size("budgets", b) for b in sweep)
    layout = exp.choice("layout", "old-app", LAYOUTS)

    preset = dat.choice("preset", "small", tuple(PRESETS))
    base = PRESETS[preset]
    clusters = dat.integer("clusters", base.true_clusters, 100, 5_000_000)
    members_per_richness = dat.number("members_per_richness", base.members_per_richness, 0.01, 20.0)
    rows_per_file = dat.integer("rows_per_file", base.rows_per_file, 1000, 50_000_000)
    quick_clusters = dat.integer("quick_clusters", QUICK_CLUSTERS, 100, 5_000_000)

    kind = wl.choice("kind", "old-app", KINDS)
    trace = wl.table.get("trace")
    if kind == "trace":
        if not isinstance(trace, str):
            raise ConfigError(f"{source}: [workload] kind = 'trace' needs trace = \"path/to/trace.jsonl\" (relative to {path.parent})")
        trace = (path.parent / trace).resolve()
        if not trace.is_file():
            raise ConfigError(f"{source}: [workload] trace = {str(trace)!r}: no such file")
    keys = wl.choice("keys", "catalog", TRACE_KEYS)
    for key in ("keys", "load_scale", "report_size"):
        if key in wl.table and kind != "trace":
            wl.fail(key, wl.table[key], "it only with kind = 'trace'")
        if key in ("load_scale", "report_size") and key in wl.table and keys != "recorded":
            wl.fail(key, wl.table[key], "it only with keys = 'recorded' (catalog loads read real files)")
    requests = wl.integer("requests", 100, 1, 1_000_000)
    workload = Workload(kind, requests, trace if kind == "trace" else None,
                        wl.number("skew", 1.1, 0.0, 10.0), wl.boolean("stats_after_request"), wl.integer("hot", 8, 1, 10_000),
                        wl.number("shift_at", 0.5, 0.0, 1.0), wl.number("shift_fraction", 1.0, 0.0, 1.0), keys,
                        wl.number("load_scale", 1.0, 0.0, 100.0), wl.boolean("report_size"),
                        wl.integer("warmup", 0, 0, requests - 1), wl.integer("threads", 1, 1, MAX_THREADS),
                        wl.integer("quick_requests", None, 1, 1_000_000) if "quick_requests" in wl.table else None)

    runs = _policies(data.get("policies"), source)
    labels = [r.label for r in runs]
    baseline = dec.table.get("baseline", labels[0])
    if baseline not in labels:
        dec.fail("baseline", baseline, "the label of one of the [[policies]]: " + ", ".join(map(repr, labels)))
    decision = Decision(baseline, dec.choice("memory", "hard", ("hard", "soft")), dec.number("tolerance", 0.02, 0.0, 1.0),
                        dec.number("switch_p95_ms", None, 0.001, 3_600_000.0, none_ok=True))
    name = exp.table.get("name", path.stem)
    if not isinstance(name, str) or not name:
        exp.fail("name", name, "a non-empty string")
    return Experiment(path, name, repetitions, seed, budget, budgets, layout, preset, clusters, members_per_richness, rows_per_file,
                      quick_clusters, workload, decision, thr.number("relative", 0.10, 0.0, 10.0), thr.number("latency_ms", 1.0, 0.0, 60_000.0),
                      tuple(runs))


def _policies(policies, source: str) -> list[PolicyRun]:
    if not isinstance(policies, list) or not policies:
        raise ConfigError(f"{source}: no [[policies]] to compare; add at least one table with label and name")
    runs = []
    for i, table in enumerate(policies, 1):
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [[policies]] #{i} must be a table")
        label = table.get("label", table.get("name"))
        if not isinstance(label, str) or not label or "|" in label:
            raise ConfigError(f"{source}: [[policies]] #{i} needs a label (or name) without '|'")
        policy_table = {k: v for k, v in table.items() if k != "label"}
        policy_from_table(policy_table, source, where=f"[[policies]] {label!r}")  # validates names, keys, bounds
        for key in ("budget", "limit"):
            if key in policy_table:
                raise ConfigError(f"{source}: [[policies]] {label!r} sets {key}; the experiment's [experiment] budget sets "
                                  "every policy's memory so that all get the same (leave it out)")
        runs.append(PolicyRun(label, policy_table))
    labels = [r.label for r in runs]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"{source}: [[policies]] labels must differ; got {', '.join(labels)}")
    return runs
