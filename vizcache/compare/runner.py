"""Run every (policy, repetition) in a fresh subprocess on the same requests, then report.

A run that crashes or is killed (the out-of-memory killer included) is recorded with the
reason; Ctrl-C stops the current run and marks the rest as not run. Either way a valid report
is written from what finished.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tqdm import tqdm

from ..catalogs.generate import PRESETS, Preset, generate
from .experiment import Experiment
from .metrics import run_metrics
from .workloads import bursty, from_trace, old_app, scan, zipf


def prepare_data(exp: Experiment, out: Path) -> dict[str, tuple[str, list[str]]]:
    """Generate the experiment's data once; catalogs are PZWAV, AMICO, BOTH and each member file."""
    base = PRESETS[exp.preset]
    folder = out / "data"
    result = generate(folder, Preset(exp.clusters, base.members_per_richness, base.rows_per_file, base.row_group_rows), seed=exp.seed)
    catalogs = {name.upper(): ("clusters", result.files[name]) for name in ("pzwav", "amico", "both")}
    for i, path in enumerate(result.files["members"]):
        catalogs[f"MEMBERS-{i:03d}"] = ("members", [path])
    return catalogs


def make_requests(exp: Experiment, names: list[str]) -> list[tuple[float, str]]:
    if exp.workload == "trace":
        return from_trace(exp.trace, names)[: exp.requests]
    make = {"old-app": old_app, "scan": scan, "bursty": bursty}.get(exp.workload)
    if make is not None:
        return make(names, exp.requests, exp.seed)
    return zipf(names, exp.requests, exp.seed, skew=exp.skew)


def _describe_exit(code: int, stderr: str) -> str:
    if code < 0:
        name = signal.Signals(-code).name
        hint = " (likely the out-of-memory killer)" if -code == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    last = stderr.strip().splitlines()[-1] if stderr.strip() else "no error output"
    return f"exited with code {code}: {last}"


def run_experiment(exp: Experiment, out: Path, progress: bool = True) -> dict:
    """Run everything and return the results document (also written by the report)."""
    out.mkdir(parents=True, exist_ok=True)
    catalogs = prepare_data(exp, out)
    requests = make_requests(exp, sorted(catalogs))
    runs_dir = out / "runs"
    runs_dir.mkdir(exist_ok=True)
    plan = [(policy, rep) for rep in range(exp.repetitions) for policy in exp.policies]  # interleaved: drift hits all alike
    runs: list[dict] = []
    interrupted = False
    bar = tqdm(total=len(plan), unit="run", desc="compare", disable=not progress)
    for index, (policy, rep) in enumerate(plan):
        if interrupted:
            runs.append({"label": policy.label, "repetition": rep, "status": "missing", "reason": "not run: interrupted (Ctrl-C)"})
            continue
        bar.set_postfix_str(f"{policy.label} #{rep + 1}")
        spec = {"label": policy.label, "repetition": rep, "policy": policy.table, "headroom": exp.headroom, "layout": exp.layout,
                "data_dir": str(out / "data"), "catalogs": catalogs, "requests": requests}
        spec_path, result_path = runs_dir / f"{index:03d}-spec.json", runs_dir / f"{index:03d}-result.json"
        spec_path.write_text(json.dumps(spec))
        proc = subprocess.Popen([sys.executable, "-m", "vizcache.compare.worker", str(spec_path), str(result_path)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            _, stderr = proc.communicate()
        except KeyboardInterrupt:
            proc.kill()
            proc.wait()
            interrupted = True
            runs.append({"label": policy.label, "repetition": rep, "status": "missing", "reason": "interrupted (Ctrl-C) while running"})
            continue
        if proc.returncode == 0 and result_path.exists():
            result = json.loads(result_path.read_text())
            result["metrics"] = run_metrics(result)
            runs.append(result)
        else:
            runs.append({"label": policy.label, "repetition": rep, "status": "missing", "reason": _describe_exit(proc.returncode, stderr)})
        bar.update(1)
    bar.close()
    return {"experiment": {"name": exp.name, "file": str(exp.path), "repetitions": exp.repetitions, "seed": exp.seed,
                           "memory_headroom_bytes": exp.headroom, "layout": exp.layout, "preset": exp.preset, "clusters": exp.clusters,
                           "workload": exp.workload, "requests": len(requests), "catalogs": sorted(catalogs),
                           "policies": [{"label": p.label, **p.table} for p in exp.policies], "finished": time.time(),
                           "interrupted": interrupted},
            "runs": runs}
