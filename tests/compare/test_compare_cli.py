"""`vizcache compare` as users run it: real processes, real files, real reports."""

import json
import re
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from vizcache import ConfigError
from vizcache.compare.experiment import load_experiment

EXPERIMENT = """
[experiment]
name = "tiny"
repetitions = {reps}
seed = 3
memory_headroom = "6MiB"
layout = "old-app"

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


def write(tmp_path, reps=1, kind="zipf", extra=""):
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT.format(reps=reps, kind=kind, extra=extra))
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


def test_report_on_small_data(tmp_path):
    out = tmp_path / "report"
    proc = compare(write(tmp_path, reps=2), "--out", out, "--simulate")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["schema"] == "vizcache-compare/1" and doc["experiment"]["requests"] == 24
    assert [r["status"] for r in doc["runs"]] == ["ok"] * 4
    for label in ("getsizeof", "rss"):
        metrics = doc["policies"][label]["metrics"]
        assert metrics["hit_ratio"]["n"] == 2 and 0 <= metrics["hit_ratio"]["median"] <= 1
        assert metrics["miss_p50_ms"]["median"] > 0
    assert doc["policies"]["getsizeof"]["metrics"]["estimated_error"]["median"] > 0.9  # getsizeof is ~100 % wrong here
    assert doc["policies"]["rss"]["metrics"]["estimated_error"]["median"] is None  # it estimates nothing
    assert doc["verdicts"] and all(":" in line for line in doc["verdicts"])
    assert set(doc["simulation"]["curves"]) == {"getsizeof", "rss"}
    summary = (out / "summary.md").read_text()
    assert "| hit ratio | " in summary and "## Verdict" in summary and "## Simulation" in summary
    html = (out / "report.html").read_text()
    assert "Bokeh" in html and len(html) > 500_000  # BokehJS inlined
    # self-contained: no external script or stylesheet (Panel's page only links its favicon)
    assert not re.search(r"<script[^>]+src=\"https?://", html) and not re.search(r"<link[^>]+stylesheet[^>]+href=\"https?://", html)


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


def test_ctrl_c_stops_and_still_writes_the_report(tmp_path):
    out = tmp_path / "report"
    path = write(tmp_path, reps=3)
    path.write_text(path.read_text().replace('label = "rss"\nname = "RSSThresholdLRU"', 'label = "slow"\nname = "Slow"'))
    proc = subprocess.Popen([sys.executable, "-m", "vizcache.cli", "compare", str(path), "--out", str(out)], env=plugin_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "runs").glob("001-spec.json")):  # the slow policy's first run started
        time.sleep(0.2)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["experiment"]["interrupted"] is True
    reasons = [r.get("reason", "") for r in doc["runs"] if r["status"] == "missing"]
    assert any("while running" in r for r in reasons) and any(r.startswith("not run") for r in reasons)
    assert doc["policies"]["getsizeof"]["runs"] >= 1


BAD = {
    "no_policies": ("[experiment]\nrepetitions = 1\n", "no [[policies]] to compare"),
    "unknown_policy": ('[[policies]]\nlabel = "x"\nname = "MRU"\n', "name = 'MRU' is not a known policy"),
    "bad_param": ('[[policies]]\nlabel = "x"\nname = "RSSThresholdLRU"\nhigh_water = 3\n', "[[policies]] 'x' high_water = 3 is not allowed"),
    "bad_headroom": ('[experiment]\nmemory_headroom = "lots"\n[[policies]]\nname = "AgeBased"\n', "memory_headroom = 'lots' is not allowed"),
    "bad_kind": ('[workload]\nkind = "random"\n[[policies]]\nname = "AgeBased"\n', "kind = 'random' is not allowed: use one of 'old-app'"),
    "missing_trace": ('[workload]\nkind = "trace"\ntrace = "nope.jsonl"\n[[policies]]\nname = "AgeBased"\n', "nope.jsonl': no such file"),
    "dup_labels": ('[[policies]]\nname = "AgeBased"\n[[policies]]\nname = "AgeBased"\n', "labels must differ"),
    "unknown_key": ('[workload]\nrequest = 5\n[[policies]]\nname = "AgeBased"\n', "[workload] unknown key 'request'"),
    "reps": ('[experiment]\nrepetitions = 0\n[[policies]]\nname = "AgeBased"\n', "repetitions = 0 is not allowed"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_experiment_files(tmp_path, case):
    text, expected = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    assert str(info.value).startswith(str(path)) and expected in str(info.value)


def test_cli_prints_one_line_for_a_bad_experiment(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BAD["bad_kind"][0])
    proc = compare(path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


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
