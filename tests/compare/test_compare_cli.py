"""`vizcache compare` as users run it: real processes, real files, real reports."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import psutil
import pytest

from vizcache import ConfigError
from vizcache.compare.experiment import load_experiment
from vizcache.compare.stats import compare as compare_runs

from ..waiting import wait_until

EXPERIMENT = """
[experiment]
name = "tiny"
repetitions = {reps}
seed = 3
budget = "{budget}"
layout = "old-app"
{sweep}

[data]
preset = "small"
clusters = 4000

[workload]
kind = "{kind}"
requests = 24

[[policies]]
label = "getsizeof"
name = "SizeEstimatedLRU"
estimator = "getsizeof"

[[policies]]
label = "rss"
name = "RSSThresholdLRU"
{extra}
"""

PLUGIN = '''
import os, signal, time
from vizcache import CachePolicy

class SelfKilling(CachePolicy):
    """Dies like an out-of-memory kill on its first admit."""
    def admit(self, cache, entry, rss_after):
        os.kill(os.getpid(), signal.SIGKILL)

class Slow(CachePolicy):
    """Takes its time before every load."""
    def make_room(self, cache, key):
        time.sleep(2)
'''


def write(tmp_path, reps=1, kind="zipf", extra="", budget="40%", sweep=""):
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT.format(reps=reps, kind=kind, extra=extra, budget=budget, sweep=sweep))
    return path


def plugin_env(tmp_path):
    (tmp_path / "plug.py").write_text(textwrap.dedent(PLUGIN))
    dist = tmp_path / "plug-1.0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: plug\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[vizcache.policies]\nSelfKilling = plug:SelfKilling\nSlow = plug:Slow\n")
    return {**os.environ, "PYTHONPATH": str(tmp_path)}


def compare(*args, env=None):
    return subprocess.run([sys.executable, "-m", "vizcache.cli", "compare", *map(str, args)], capture_output=True, text=True,
                          timeout=600, env=env)


def table_rows_keep_their_cells(markdown: str) -> None:
    table: list[str] = []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            counts = {len(re.split(r"(?<!\\)\|", row)) for row in table}
            assert len(counts) == 1, table
        table = []


def test_report_on_small_data(tmp_path):
    out = tmp_path / "report"
    proc = compare(write(tmp_path, reps=2, sweep='budgets = ["20%", "40%", "90%"]'), "--out", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["schema"] == "vizcache-compare/2" and doc["complete"] is True and doc["experiment"]["workload"]["requests"] == 24
    assert [r["status"] for r in doc["runs"]] == ["ok"] * 12  # 3 budgets x 2 policies x 2 repetitions
    budget = doc["experiment"]["budget_bytes"]
    assert budget == int(0.4 * doc["experiment"]["working_set_bytes"])
    assert {p["budget_bytes"] for p in doc["policies"].values()} == {budget}  # the same budget for every policy
    for run in doc["runs"]:
        if run["label"] == "rss":  # high water at the run's baseline + budget
            assert run["params"]["limit"] * run["params"]["high_water"] == pytest.approx(run["baseline_rss"] + run["budget_bytes"], abs=2)
        else:
            assert run["params"]["budget"] == run["budget_bytes"]
    for label in ("getsizeof", "rss"):
        metrics = doc["policies"][label]["metrics"]
        assert metrics["hit_ratio"]["n"] == 2 and 0 <= metrics["hit_ratio"]["median"] <= 1
        assert metrics["miss_p50_ms"]["median"] > 0 and metrics["miss_p50_ms"]["ci"][0] <= metrics["miss_p50_ms"]["median"]
        assert all(m["ci"] is not None for m in metrics.values() if m["median"] is not None)
    assert doc["policies"]["getsizeof"]["metrics"]["estimated_error"]["median"] > 0.9  # getsizeof is ~100 % wrong here
    assert doc["policies"]["rss"]["metrics"]["estimated_error"]["median"] is None  # it estimates nothing
    for v in doc["verdicts"]:
        assert set(v) == {"metric", "winner", "text"} and v["metric"] not in ("loads", "evictions", "rejections")
        if v["winner"]:  # its difference from every other policy, paired by repetition, has an interval without zero
            runs = {label: [r for r in doc["runs"] if r["label"] == label and r["budget_bytes"] == budget] for label in doc["policies"]}
            for label in runs.keys() - {v["winner"]}:
                lo, hi = compare_runs(runs[v["winner"]], runs[label], v["metric"], doc["experiment"]["thresholds"])["ci"]
                assert hi < 0 or lo > 0, v
    assert doc["decision"]["baseline"] == "getsizeof" and [c["policy"] for c in doc["decision"]["policies"]] == ["rss"]
    assert doc["decision"]["recommendation"]
    assert len(doc["sweep"]["budgets"]) == 3 and len(doc["sweep"]["policies"]["rss"]["hit_ratio"]) == 3
    assert set(doc["simulation"]["policies"]) == {"getsizeof", "rss"} and set(doc["simulation"]["reference"]) >= {"LRU", "S3FIFO"}
    summary = (out / "summary.md").read_text()
    assert summary.index("## Decision") < summary.index("## Results") < summary.index("## Verdict")
    assert "| hit ratio | " in summary and "## Budget sweep" in summary and "## Simulation" in summary
    table_rows_keep_their_cells(summary)
    html = (out / "report.html").read_text()
    assert "Bokeh" in html and len(html) > 500_000  # BokehJS inlined
    # self-contained: no external script or stylesheet (Panel's page only links its favicon)
    assert not re.search(r"<script[^>]+src=\"https?://", html) and not re.search(r"<link[^>]+stylesheet[^>]+href=\"https?://", html)
    assert not list(out.glob(".*.tmp*"))  # written under temporary names, renamed when complete


def test_killed_run_leaves_a_valid_report(tmp_path):
    out = tmp_path / "report"
    path = write(tmp_path)
    path.write_text(path.read_text().replace('label = "rss"\nname = "RSSThresholdLRU"', 'label = "doomed"\nname = "SelfKilling"'))
    proc = compare(path, "--out", out, env=plugin_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "results.json").read_text())
    doomed = doc["policies"]["doomed"]
    assert doomed["runs"] == 0 and "killed by SIGKILL (likely the out-of-memory killer)" in doomed["missing"][0]
    assert doc["policies"]["getsizeof"]["runs"] == 1
    assert "**Incomplete:**" in (out / "summary.md").read_text() and (out / "report.html").exists()


def wait_for_slow_run(out, proc, timeout=180):
    """Until a getsizeof run has finished and the slow policy's worker process runs (a Ctrl-C then lands inside that run)."""
    def slow_worker_running() -> bool:
        assert proc.poll() is None, f"compare ended before its slow run: {proc.stderr.read()}"
        specs = {p.name[:3]: json.loads(p.read_text())["label"] for p in (out / "runs").glob("[0-9]*-spec.json")} if (out / "runs").exists() else {}
        done = {p.name[:3] for p in (out / "runs").glob("[0-9]*-result.json")} if specs else set()
        slow = [i for i, label in specs.items() if label == "slow" and i not in done]
        if not (slow and any(specs[i] == "getsizeof" for i in done)):
            return False
        workers = [" ".join(child.cmdline()) for child in psutil.Process(proc.pid).children(recursive=True)]
        return any(f"{i}-spec.json" in worker for i in slow for worker in workers)

    wait_until(slow_worker_running, timeout=timeout, interval=0.2, ignore=(json.JSONDecodeError, psutil.Error),
               message="a getsizeof run finished and the slow run's worker started")


def test_ctrl_c_stops_and_still_writes_the_report(tmp_path):
    out = tmp_path / "report"
    path = write(tmp_path, reps=3)
    path.write_text(path.read_text().replace('label = "rss"\nname = "RSSThresholdLRU"', 'label = "slow"\nname = "Slow"'))
    # SIGINT as a terminal's Ctrl-C finds it, even when this suite runs in the background (a
    # non-interactive shell starts background jobs with SIGINT ignored, and children inherit that).
    proc = subprocess.Popen([sys.executable, "-m", "vizcache.cli", "compare", str(path), "--out", str(out)], env=plugin_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for_slow_run(out, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["experiment"]["interrupted"] is True
    reasons = [r.get("reason", "") for r in doc["runs"] if r["status"] == "missing"]
    assert any("while running" in r for r in reasons) and any(r.startswith("not run") for r in reasons)
    assert doc["policies"]["getsizeof"]["runs"] >= 1


P = '[[policies]]\nname = "AgeBased"\n'
BAD = {
    "no_policies": ("[experiment]\nrepetitions = 1\n", "no [[policies]] to compare"),
    "unknown_policy": ('[[policies]]\nlabel = "x"\nname = "MRU"\n', "name = 'MRU' is not a known policy"),
    "bad_param": ('[[policies]]\nlabel = "x"\nname = "RSSThresholdLRU"\nhigh_water = 3\n', "[[policies]] 'x' high_water = 3 is not allowed"),
    "bad_budget": ('[experiment]\nbudget = "lots"\n' + P, "budget = 'lots' is not allowed"),
    "inf_budget": ("[experiment]\nbudget = inf\n" + P, "budget = inf is not allowed"),
    "huge_budget": ("[experiment]\nbudget = " + "9" * 400 + "\n" + P, "[experiment] budget = 999"),
    "nan_share": ('[experiment]\nbudget = "nan%"\n' + P, "budget = 'nan%' is not allowed"),
    "bad_sweep": ('[experiment]\nbudgets = ["10%", "0.1%"]\n' + P, "budgets = '0.1%' is not allowed"),
    "old_headroom": ('[experiment]\nmemory_headroom = "1GiB"\n' + P, "unknown key 'memory_headroom'"),
    "policy_budget": ('[[policies]]\nname = "SizeEstimatedLRU"\nbudget = "1GiB"\n', "sets budget; the experiment's [experiment] budget"),
    "bad_kind": ('[workload]\nkind = "random"\n' + P, "kind = 'random' is not allowed: use one of 'old-app'"),
    "zero_requests": ("[workload]\nrequests = 0\n" + P, "requests = 0 is not allowed: use a whole number from 1"),
    "negative_seed": ("[experiment]\nseed = -1\n" + P, "seed = -1 is not allowed"),
    "negative_clusters": ("[data]\nclusters = -5\n" + P, "clusters = -5 is not allowed"),
    "nan_skew": ("[workload]\nskew = nan\n" + P, "skew = nan is not allowed: use a finite number"),
    "inf_rows": ("[data]\nmembers_per_richness = inf\n" + P, "members_per_richness = inf is not allowed"),
    "missing_trace": ('[workload]\nkind = "trace"\ntrace = "nope.jsonl"\n' + P, "nope.jsonl': no such file"),
    # trace = "bad.toml": the experiment file itself stands in for a trace that exists
    "bad_trace_keys": ('[workload]\nkind = "trace"\ntrace = "bad.toml"\nkeys = "partition"\n' + P,
                       "[workload] keys = 'partition' is not allowed: use one of 'catalog', 'recorded'"),
    "keys_without_trace": ('[workload]\nkind = "zipf"\nkeys = "recorded"\n' + P, "keys = 'recorded' is not allowed: use it only with kind = 'trace'"),
    "load_scale_with_catalogs": ('[workload]\nkind = "trace"\ntrace = "bad.toml"\nload_scale = 0.5\n' + P,
                                 "load_scale = 0.5 is not allowed: use it only with keys = 'recorded'"),
    "negative_load_scale": ('[workload]\nkind = "trace"\ntrace = "bad.toml"\nkeys = "recorded"\nload_scale = -1\n' + P,
                            "load_scale = -1 is not allowed: use a finite number from 0.0 to 100.0"),
    "report_size_string": ('[workload]\nkind = "trace"\ntrace = "bad.toml"\nkeys = "recorded"\nreport_size = "yes"\n' + P,
                           "report_size = 'yes' is not allowed: use true or false"),
    "zero_threads": ("[workload]\nthreads = 0\n" + P, "[workload] threads = 0 is not allowed: use a whole number from 1 to 64"),
    "many_threads": ("[workload]\nthreads = 65\n" + P, "[workload] threads = 65 is not allowed: use a whole number from 1 to 64"),
    "float_threads": ("[workload]\nthreads = 2.5\n" + P, "[workload] threads = 2.5 is not allowed: use a whole number"),
    "bool_threads": ("[workload]\nthreads = true\n" + P, "[workload] threads = True is not allowed: use a whole number"),
    "warmup_all": ("[workload]\nrequests = 10\nwarmup = 10\n" + P, "[workload] warmup = 10 is not allowed: use a whole number from 0 to 9"),
    "zero_quick_requests": ("[workload]\nquick_requests = 0\n" + P, "[workload] quick_requests = 0 is not allowed: use a whole number from 1"),
    "negative_warmup": ("[workload]\nwarmup = -1\n" + P, "[workload] warmup = -1 is not allowed"),
    "dup_labels": (P + P, "labels must differ"),
    "unknown_key": ("[workload]\nrequest = 5\n" + P, "[workload] unknown key 'request'"),
    "reps": ("[experiment]\nrepetitions = 0\n" + P, "repetitions = 0 is not allowed"),
    "baseline": ('[decision]\nbaseline = "old"\n' + P, "baseline = 'old' is not allowed: use the label of one of the [[policies]]"),
    "pipe_label": ('[[policies]]\nlabel = "a|b"\nname = "AgeBased"\n', "needs a label (or name) without '|'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_experiment_files(tmp_path, case):
    text, expected = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    assert str(info.value).startswith(str(path)) and expected in str(info.value)


@pytest.mark.parametrize("case", ["bad_kind", "nan_skew", "huge_budget", "zero_threads"])
def test_cli_prints_one_line_for_a_bad_experiment_before_generating_data(tmp_path, case):
    path = tmp_path / "bad.toml"
    path.write_text(BAD[case][0])
    proc = compare(path, "--out", tmp_path / "out")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # nothing generated


def test_trace_workload_replays_a_recorded_viewer_trace(tmp_path):
    trace = tmp_path / "viewer.jsonl"
    trace.write_text("".join(json.dumps({"t": i, "key": repr((k, "f00")), "hit": False, "load_s": 0.1, "bytes": 10}) + "\n"
                             for i, k in enumerate(["BOTH", "AMICO", "BOTH", "UNKNOWN", "PZWAV"])))
    path = write(tmp_path, kind="trace", extra="")
    path.write_text(path.read_text().replace('kind = "trace"', 'kind = "trace"\ntrace = "viewer.jsonl"'))
    out = tmp_path / "report"
    proc = compare(path, "--out", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "results.json").read_text())
    assert [r[1] for r in doc["runs"][0]["requests"]] == ["BOTH", "AMICO", "BOTH", "PZWAV"]  # unknown keys are left out


def test_each_repetition_draws_its_sequence_and_threads_overlap_loads(tmp_path):
    path = write(tmp_path, reps=2)
    path.write_text(path.read_text().replace("requests = 24", "requests = 24\nwarmup = 6\nthreads = 4"))
    out = tmp_path / "report"
    proc = compare(path, "--out", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "results.json").read_text())
    wl = doc["experiment"]["workload"]
    assert wl["warmup"] == 6 and wl["threads"] == 4 and len(set(wl["sequence_seeds"])) == 2
    by_rep = {}
    for run in doc["runs"]:
        assert run["status"] == "ok" and run["threads"] == 4 and run["sequence_seed"] == wl["sequence_seeds"][run["repetition"]]
        by_rep.setdefault(run["repetition"], set()).add(tuple(r[1] for r in run["requests"]))
    assert all(len(keys) == 1 for keys in by_rep.values())  # every policy replays its repetition's sequence
    assert by_rep[0] != by_rep[1]  # and the repetitions' sequences differ
    for label, policy in doc["policies"].items():
        metrics = policy["metrics"]
        assert metrics["overhead_p95_ms"]["median"] is None  # shared counters: not a request's own
        assert metrics["accounting_error_mib"]["median"] is not None and metrics["warmup_hit_ratio"]["n"] == 2
        run = next(r for r in doc["runs"] if r["label"] == label)
        measured = run["requests"][6:]
        assert run["metrics"]["hit_ratio"] == pytest.approx(sum(r[2] for r in measured) / len(measured))
    summary = (out / "summary.md").read_text()
    assert "## Concurrency (4 threads)" in summary and "The first 6 requests of each run fill the cache" in summary
    table_rows_keep_their_cells(summary)
