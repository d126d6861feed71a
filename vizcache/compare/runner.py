"""Run every (budget, policy, repetition) in a fresh subprocess.

Repetition r of every policy replays the same request sequence, drawn from
``sequence_seed(seed, r)`` (a recorded trace is one sequence, replayed in every repetition).
Rounds are interleaved: each round runs every (budget, policy) once, in an order shuffled afresh
from the experiment's seed, so drift on the machine hits every policy alike. A run that
crashes or is killed (the out-of-memory killer included) is recorded with the reason; Ctrl-C
stops the current run and marks the rest as not run. After every run the results so far are
written (atomically) marked incomplete, so a killed compare never leaves an earlier run's
results looking current.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..catalogs.generate import PRESETS, Preset, generate
from ..config import ConfigError
from ..memory import loading_process_environment
from .experiment import Experiment
from .files import ReportError, atomic_write
from .metrics import run_metrics
from .workloads import bursty, finders, from_trace, old_app, recorded_keys, scan, sequence_seed, shift, zipf

#: how the ground truth of a recorded key is known: it is synthesised at that size
RECORDED_TRUTH = "the recorded size (each key synthesised as a float64 frame of that many bytes, every page written)"


def prepare_data(exp: Experiment, out: Path) -> dict[str, tuple[str, list[str]]]:
    """Generate the experiment's data once (reused while its parameters stay the same).

    Catalogs are PZWAV, AMICO, BOTH and one per member file (MEMBERS-000, ...).
    """
    folder = out / "data"
    preset = Preset(exp.clusters, exp.members_per_richness, exp.rows_per_file, PRESETS[exp.preset].row_group_rows)
    wanted = {"seed": exp.seed, "clusters": preset.true_clusters, "members_per_richness": preset.members_per_richness,
              "rows_per_file": preset.rows_per_file, "row_group_rows": preset.row_group_rows}
    record = folder / "compare-data.json"
    if record.exists():
        known = json.loads(record.read_text())
        if known["params"] == wanted and all(Path(f).exists() for files in known["files"].values() for f in files):
            return _catalogs(known["files"])
    result = generate(folder, preset, seed=exp.seed)
    atomic_write(record, json.dumps({"params": wanted, "files": result.files}))
    return _catalogs(result.files)


def _catalogs(files: dict[str, list[str]]) -> dict[str, tuple[str, list[str]]]:
    catalogs = {name.upper(): ("clusters", files[name]) for name in ("pzwav", "amico", "both")}
    for i, path in enumerate(files["members"]):
        catalogs[f"MEMBERS-{i:03d}"] = ("members", [path])
    return catalogs


def make_requests(exp: Experiment, names: list[str], repetition: int = 0) -> list[tuple[float, str]]:
    """Repetition ``repetition``'s request sequence (a trace's is the same in every repetition)."""
    wl = exp.workload
    if wl.kind == "trace":
        requests = from_trace(wl.trace, names)[: wl.requests]
        if not requests:
            raise ConfigError(f"{exp.path}: [workload] trace {wl.trace}: no request names one of this experiment's catalogs "
                              f"({', '.join(names[:5])}, ...)")
        return _long_enough(exp, requests)
    seed = sequence_seed(exp.seed, repetition)
    if wl.kind == "zipf":
        return zipf(names, wl.requests, seed, skew=wl.skew)
    if wl.kind == "finders":
        return finders(names, wl.requests, seed, skew=wl.skew)
    if wl.kind == "shift":
        return shift(names, wl.requests, seed, skew=wl.skew, hot=wl.hot, shift_at=wl.shift_at, fraction=wl.shift_fraction)
    return {"old-app": old_app, "scan": scan, "bursty": bursty}[wl.kind](names, wl.requests, seed)


def _long_enough(exp: Experiment, requests: list) -> list:
    """A trace shorter than ``requests`` must still leave requests after the warm-up."""
    if exp.workload.warmup >= len(requests):
        raise ConfigError(f"{exp.path}: [workload] warmup = {exp.workload.warmup} is not allowed: the trace gives {len(requests)} "
                          f"requests; use a whole number from 0 to {len(requests) - 1}")
    return requests


def recorded_workload(exp: Experiment) -> tuple[list, dict[str, tuple[int, float]], dict]:
    """Requests, the requested keys' (size, load seconds) and their ground truth, for ``keys = "recorded"``."""
    wl = exp.workload
    requests, objects, left_out = recorded_keys(wl.trace)
    if not requests:
        raise ConfigError(f"{exp.path}: [workload] trace {wl.trace}: no load in it has a known size (neither a reported "
                          "size nor an RSS delta above 0), so no key can be synthesised")
    if left_out:
        print(f"vizcache: warning: {left_out} requests of {wl.trace} are for keys whose size the trace never gives; left out",
              file=sys.stderr)
    requests = _long_enough(exp, requests[: wl.requests])
    objects = {key: objects[key] for _, key in requests}
    return requests, objects, {"sizes": {key: size for key, (size, _) in objects.items()}, "method": RECORDED_TRUTH}


def _describe_exit(code: int, stderr: str) -> str:
    if code < 0:
        name = signal.Signals(-code).name
        hint = " (likely the out-of-memory killer)" if -code == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    last = stderr.strip().splitlines()[-1] if stderr.strip() else "no error output"
    return f"exited with code {code}: {last}"


def _subprocess(args: list[str]) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, "-m", "vizcache.compare.worker", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=loading_process_environment(dict(os.environ)))
    try:
        _, stderr = proc.communicate()
    except KeyboardInterrupt:
        proc.kill()
        proc.wait()
        raise
    return proc.returncode, stderr


def ground_truth(exp: Experiment, out: Path, catalogs: dict) -> dict:
    """Every catalog's true in-memory size, measured once in its own fresh process."""
    spec_path, result_path = out / "runs" / "truth-spec.json", out / "runs" / "truth.json"
    spec_path.write_text(json.dumps({"layout": exp.layout, "data_dir": str(out / "data"), "catalogs": catalogs}))
    code, stderr = _subprocess(["--truth", str(spec_path), str(result_path)])
    if code != 0:
        raise ReportError(f"measuring the catalogs' true sizes failed: {_describe_exit(code, stderr)}")
    return json.loads(result_path.read_text())


def plan(exp: Experiment, budgets: list[int]) -> list[tuple[int, int, object]]:
    """(repetition, budget, policy) in interleaved rounds, each round freshly shuffled."""
    rng = np.random.default_rng([exp.seed, 1])
    cells = [(budget, policy) for budget in budgets for policy in exp.policies]
    return [(rep, *cells[i]) for rep in range(exp.repetitions) for i in rng.permutation(len(cells))]


def experiment_record(exp: Experiment, sequences: dict[int, list], catalogs: dict, truth: dict) -> dict:
    """What the report says of the setup; ``sequences`` are each repetition's requests, ``catalogs`` the replayed keys'
    sources (catalogs or recorded objects)."""
    wl = exp.workload
    per_sequence = [sum(truth["sizes"][key] for key in {key for _, key in sequences[rep]}) for rep in sorted(sequences)]
    working_set = int(np.median(per_sequence))  # a sequence's, not the union's: each repetition draws its own hot set
    budget, budgets = exp.budget_bytes(working_set)
    drawn = wl.kind not in ("trace", "scan")  # a trace is one recorded sequence; a scan has no randomness
    return {"name": exp.name, "file": str(exp.path), "quick": exp.quick_run, "repetitions": exp.repetitions, "seed": exp.seed,
            "budget_bytes": budget, "budget": str(exp.budget), "budgets": budgets, "layout": exp.layout, "preset": exp.preset,
            "clusters": exp.clusters, "members_per_richness": exp.members_per_richness, "rows_per_file": exp.rows_per_file,
            "workload": {"kind": wl.kind, "requests": len(sequences[0]), "warmup": wl.warmup, "threads": wl.threads,
                         "sequences": "one per repetition" if drawn else "one, replayed in every repetition",
                         "sequence_seeds": [sequence_seed(exp.seed, rep) for rep in sorted(sequences)] if drawn else None,
                         "skew": wl.skew, "stats_after_request": wl.stats_after_request,
                         **({"hot": wl.hot, "shift_at": wl.shift_at, "shift_fraction": wl.shift_fraction} if wl.kind == "shift" else {}),
                         **({"trace": str(wl.trace), "keys": wl.keys} if wl.kind == "trace" else {}),
                         **({"load_scale": wl.load_scale, "report_size": wl.report_size} if wl.recorded else {})},
            "catalogs": sorted(catalogs), "working_set_bytes": working_set, "working_set_bytes_per_sequence": per_sequence,
            "true_sizes": truth["sizes"], "true_size_method": truth["method"],
            "decision": {"baseline": exp.decision.baseline, "memory": exp.decision.memory, "tolerance": exp.decision.tolerance,
                         "switch_p95_ms": exp.decision.switch_p95_ms, "budget_bytes": budget},
            "thresholds": {"relative": exp.relative_threshold, "latency_ms": exp.latency_threshold_ms},
            "gc": "gc.freeze() after warm-up, automatic collection off, one gc.collect() + malloc_trim(0) after every request "
                  "(timed apart); Arrow allocates through glibc",
            "policies": [{"label": p.label, **p.table} for p in exp.policies]}


def run_experiment(exp: Experiment, out: Path, progress: bool = True) -> dict:
    """Run everything and return the results document (the report adds the summary)."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("summary.md", "report.html"):  # an earlier run's report must not look like this one's
        (out / stale).unlink(missing_ok=True)
    runs_dir = out / "runs"
    runs_dir.mkdir(exist_ok=True)
    if exp.workload.recorded:  # nothing to generate: each key is synthesised at its recorded size
        requests, catalogs, truth = recorded_workload(exp)
        sequences = dict.fromkeys(range(exp.repetitions), requests)
        source = {"objects": catalogs, "load_scale": exp.workload.load_scale, "report_size": exp.workload.report_size}
    else:
        catalogs = prepare_data(exp, out)
        sequences = {rep: make_requests(exp, sorted(catalogs), rep) for rep in range(exp.repetitions)}
        requested = {key for requests in sequences.values() for _, key in requests}
        truth = ground_truth(exp, out, {k: v for k, v in catalogs.items() if k in requested})
        source = {"layout": exp.layout, "data_dir": str(out / "data"), "catalogs": catalogs}
    document = {"schema": None, "complete": False, "experiment": experiment_record(exp, sequences, catalogs, truth), "runs": []}
    seeds = document["experiment"]["workload"]["sequence_seeds"]
    runs, interrupted = document["runs"], False
    schedule = plan(exp, document["experiment"]["budgets"])
    bar = tqdm(total=len(schedule), unit="run", desc="compare", disable=not progress)
    for index, (rep, budget, policy) in enumerate(schedule):
        where = {"label": policy.label, "repetition": rep, "budget_bytes": budget}
        if interrupted:
            runs.append({**where, "status": "missing", "reason": "not run: interrupted (Ctrl-C)"})
            continue
        bar.set_postfix_str(f"{policy.label} #{rep + 1}")
        spec = {"label": policy.label, "repetition": rep, "policy": policy.table, "budget": budget, **source, "requests": sequences[rep],
                "sequence_seed": seeds[rep] if seeds else None, "threads": exp.workload.threads, "true_sizes": truth["sizes"],
                "stats_after_request": exp.workload.stats_after_request}
        spec_path, result_path = runs_dir / f"{index:03d}-spec.json", runs_dir / f"{index:03d}-result.json"
        spec_path.write_text(json.dumps(spec))
        result_path.unlink(missing_ok=True)
        try:
            code, stderr = _subprocess([str(spec_path), str(result_path)])
        except KeyboardInterrupt:
            interrupted = True
            runs.append({**where, "status": "missing", "reason": "interrupted (Ctrl-C) while running"})
            continue
        if code == 0 and result_path.exists():
            result = json.loads(result_path.read_text())
            result["warmup"] = exp.workload.warmup
            result["metrics"] = run_metrics(result, truth["sizes"])
            runs.append(result)
        else:
            runs.append({**where, "status": "missing", "reason": _describe_exit(code, stderr)})
        atomic_write(out / "results.json", json.dumps(document, default=str))  # partial, marked incomplete
        bar.update(1)
    bar.close()
    document["experiment"]["finished"] = time.time()
    document["experiment"]["interrupted"] = interrupted
    return document
