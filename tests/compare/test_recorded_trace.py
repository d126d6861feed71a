"""`vizcache compare` replaying a recorded HATS pan/zoom trace key by key, in real worker processes.

The shipped experiment's --quick takes ~80 s here, so this runs a reduced trace: the session's
first 120 requests, with the same arms' policies.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from vizcache import read_trace

from .test_compare_cli import compare

ROOT = Path(__file__).resolve().parents[2]
HATS_TRACE = ROOT / "benchmarks" / "traces" / "hats_large_pan_zoom.jsonl"
REQUESTS = 120
LOAD_SCALE = 0.02

EXPERIMENT = """
[experiment]
repetitions = 1
seed = 3
budget = "15%"

[workload]
kind = "trace"
trace = "session.jsonl"
keys = "recorded"
requests = {requests}
load_scale = {load_scale}
report_size = {report_size}

{policies}
"""
ARMS = """
[[policies]]
label = "getsizeof"
name = "SizeEstimatedLRU"
estimator = "getsizeof"

[[policies]]
label = "rss-lru"
name = "RSSThresholdLRU"

[[policies]]
label = "rss-s3fifo"
name = "RSSThresholdLRU"
order = "s3fifo"
"""


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """The first requests of the recorded session, and what it says of each key."""
    folder = tmp_path_factory.mktemp("session")
    rows = read_trace(HATS_TRACE)[:REQUESTS]
    (folder / "session.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder, rows


def run(folder: Path, name: str, policies: str = ARMS, report_size: bool = False, requests: int = REQUESTS) -> dict:
    path = folder / f"{name}.toml"
    path.write_text(EXPERIMENT.format(requests=requests, load_scale=LOAD_SCALE, report_size=str(report_size).lower(), policies=policies))
    proc = compare(path, "--simulate", "--out", folder / name)
    assert proc.returncode == 0, proc.stderr
    return json.loads((folder / name / "results.json").read_text())


def test_a_recorded_session_is_replayed_key_by_key_as_real_memory(session):
    folder, rows = session
    doc = run(folder, "unreported")
    keys = [r["key"] for r in rows]
    sizes = {r["key"]: r["size"] for r in rows if r["size"] is not None}
    exp = doc["experiment"]
    assert exp["workload"]["keys"] == "recorded" and exp["catalogs"] == sorted(set(keys))  # every recorded key one entry
    assert exp["true_sizes"] == sizes and not (folder / "unreported" / "data").exists()  # nothing generated
    assert [r["status"] for r in doc["runs"]] == ["ok"] * 3
    for run_ in doc["runs"]:
        assert [r[1] for r in run_["requests"]] == keys  # in the recorded order
        assert not any(r[2] for r in run_["requests"][:1])
    metrics = {label: p["metrics"] for label, p in doc["policies"].items()}
    # RSS sees each partition's memory, and getsizeof sizes a float frame right: both within a few %.
    assert metrics["rss-lru"]["rss_delta_error"]["median"] < 0.1
    assert metrics["getsizeof"]["estimated_error"]["median"] < 0.01
    # Loads take the recorded time, scaled: the median miss is at least the scaled median recorded load.
    recorded = np.median([r["load_s"] for r in rows if not r["hit"]]) * LOAD_SCALE * 1e3
    assert metrics["rss-lru"]["miss_p50_ms"]["median"] >= 0.9 * recorded
    # The budget is well below the working set: every arm evicts, and the orders choose differently.
    assert all(m["evictions"]["median"] > 10 for m in metrics.values())
    loads = {label: m["loads"]["median"] for label, m in metrics.items()}
    assert loads["rss-lru"] != loads["rss-s3fifo"]
    # The s3fifo arm is simulated with its own order.
    sim = doc["simulation"]["policies"]
    assert sim["rss-lru"]["hit_ratio"] != sim["rss-s3fifo"]["hit_ratio"]
    summary = (folder / "unreported" / "summary.md").read_text()
    assert f"{REQUESTS} requests over {len(set(keys))} recorded keys of `session.jsonl`" in summary


def test_report_size_hands_the_recorded_size_to_the_cache(session):
    folder, rows = session
    doc = run(folder, "reported", policies=ARMS.split("[[policies]]\nlabel = \"rss-lru\"")[0], report_size=True, requests=30)
    sizes = {r["key"]: r["size"] for r in rows if r["size"] is not None}
    accounting = doc["runs"][0]["accounting"]
    assert accounting and all(a["reported"] == sizes[a["key"]] == a["estimated"] for a in accounting)  # Sized wins over getsizeof
