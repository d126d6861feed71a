"""Bad traces, `vizcache simulate`, a killed compare and a full disk."""

import errno
import json
import os
import signal
import subprocess
import sys

import pytest

from vizcache.cli import main
from vizcache.compare import files
from vizcache.compare.files import ReportError, atomic_write
from vizcache.compare.simulate import lru
from vizcache.trace import TraceError, read_trace

from ..waiting import wait_until
from .test_compare_cli import plugin_env, write


def rows(n=6):
    keys = ["A", "B", "A", "C", "B", "A"][:n]
    sizes = {"A": 100, "B": 300, "C": 50}
    seen = set()
    out = []
    for i, k in enumerate(keys):
        hit = k in seen
        seen.add(k)
        out.append({"t": float(i), "key": k, "hit": hit, "load_s": 0.0 if hit else 0.1, "bytes": 0 if hit else 7, "size": None if hit else sizes[k]})
    return out


def write_trace(path, items, tail=""):
    path.write_text("".join(json.dumps(r) + "\n" for r in items) + tail)
    return path


def test_truncated_last_line_is_dropped_with_a_warning_naming_it(tmp_path, caplog):
    path = write_trace(tmp_path / "t.jsonl", rows(), tail='{"t": 6.0, "key": "A", "hi')
    assert len(read_trace(path)) == 6
    assert "t.jsonl:7: last line is truncated" in caplog.text


@pytest.mark.parametrize("tail,expected", [
    ('garbage\n{"t": 1, "key": "A", "hit": true, "load_s": 0, "bytes": 0}\n', r"t.jsonl:7: not JSON"),
    ('{"t": 1, "key": 5, "hit": true, "load_s": 0, "bytes": 0}\n', r"t.jsonl:7: field 'key' missing or of the wrong type"),
    ('{"t": 1, "key": "A", "hit": false, "load_s": 0.1, "bytes": -3}\n', r"t.jsonl:7: sizes must not be negative"),
])
def test_a_bad_line_is_one_error_with_its_line_number(tmp_path, tail, expected):
    path = write_trace(tmp_path / "t.jsonl", rows(), tail=tail)
    with pytest.raises(TraceError, match=expected):
        read_trace(path)


def test_non_utf8_and_empty_traces_are_errors(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"t": 0, "key": "A", "hit": false, "load_s": 0.1, "bytes": 5}\n\xff\xfe\n')
    with pytest.raises(TraceError, match=r"t.jsonl:2: not UTF-8"):
        read_trace(path)
    path.write_text("\n\n")
    with pytest.raises(TraceError, match="the trace holds no requests"):
        read_trace(path)


def simulate_cli(*args):
    return subprocess.run([sys.executable, "-m", "vizcache.cli", "simulate", *map(str, args)], capture_output=True, text=True, timeout=120)


def test_simulate_prints_curves_as_json_with_the_documented_schema(tmp_path):
    path = write_trace(tmp_path / "t.jsonl", rows(), tail='{"t": 6')
    proc = simulate_cli(path, "--budgets", "150B,400B,1KiB", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "t.jsonl:7: last line is truncated" in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["budgets"] == [150, 400, 1024]
    assert set(doc["policies"]) == {"lru", "s3fifo", "sieve", "RSSThresholdLRU", "RSSThresholdLRU s3fifo", "RSSThresholdLRU sieve",
                                    "LegacyRSSManager"}
    for curve in doc["policies"].values():
        assert set(curve) >= {"hit_ratio", "byte_hit_ratio", "peak_bytes"} and len(curve["hit_ratio"]) == 3
    # lru by hand, with the loader-reported sizes (not the 7-byte RSS deltas): A=100, B=300, C=50
    keys = [r["key"] for r in rows()]
    assert doc["policies"]["lru"]["hit_ratio"] == [lru(keys, {"A": 100, "B": 300, "C": 50}, b)["hit_ratio"] for b in (150, 400, 1024)]
    assert doc["policies"]["lru"]["hit_ratio"][-1] == pytest.approx(3 / 6)
    assert doc["sizes_from"] == {"reported": 3, "rss_delta": 0}


def test_simulate_with_libcachesim_reference(tmp_path):
    path = write_trace(tmp_path / "t.jsonl", rows())
    proc = simulate_cli(path, "--budgets", "400B", "--json", "--reference")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["reference"]["LRU"]["hit_ratio"] == doc["policies"]["lru"]["hit_ratio"]
    assert set(doc["reference"]) == {"LRU", "LFU", "S3FIFO", "ARC"}


@pytest.mark.parametrize("content,expected", [
    ("", "the trace holds no requests"),
    ('{"t": 0, "key": "A", "hit": true, "load_s": 0, "bytes": 0}\n', "no load in the trace has a known size"),
    ("not json\n" + '{"t": 0, "key": "A", "hit": true, "load_s": 0, "bytes": 0}\n', "t.jsonl:1: not JSON"),
])
def test_simulate_bad_traces_are_one_clear_error(tmp_path, content, expected):
    path = tmp_path / "t.jsonl"
    path.write_text(content)
    proc = simulate_cli(path, "--json")
    assert proc.returncode == 2 and expected in proc.stderr and "Traceback" not in proc.stderr
    bad = simulate_cli(write_trace(tmp_path / "ok.jsonl", rows()), "--budgets", "lots")
    assert bad.returncode == 2 and "'lots' is not a size" in bad.stderr


def test_a_trace_that_names_no_catalog_is_an_error_not_an_empty_report(tmp_path):
    trace = write_trace(tmp_path / "viewer.jsonl", rows())
    path = write(tmp_path, kind="trace")
    path.write_text(path.read_text().replace('kind = "trace"', 'kind = "trace"\ntrace = "viewer.jsonl"'))
    proc = subprocess.run([sys.executable, "-m", "vizcache.cli", "compare", str(path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "no request names one of this experiment's catalogs" in proc.stderr
    assert str(trace) in proc.stderr


def test_a_killed_compare_never_leaves_a_stale_report_looking_current(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "results.json").write_text(json.dumps({"schema": "vizcache-compare/2", "complete": True, "stale": True}))
    (out / "summary.md").write_text("# an earlier run\n")
    path = write(tmp_path, reps=3)
    path.write_text(path.read_text().replace('label = "rss"\nname = "RSSThresholdLRU"', 'label = "slow"\nname = "Slow"'))
    proc = subprocess.Popen([sys.executable, "-m", "vizcache.cli", "compare", str(path), "--out", str(out)], env=plugin_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: (lambda doc: "stale" not in doc and doc["runs"])(json.loads((out / "results.json").read_text())),
                   timeout=240, interval=0.2, ignore=(json.JSONDecodeError,), message="the new run's partial results written")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the compare and its worker, as a crash or the OOM killer would
        proc.wait()
    doc = json.loads((out / "results.json").read_text())
    assert "stale" not in doc and doc["complete"] is False and doc["runs"]
    assert not (out / "summary.md").exists()  # the earlier run's summary is gone, not left to look current


def test_atomic_write_on_a_full_disk_is_one_clear_error_and_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "results.json"
    target.write_text("old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(ReportError, match=r"results.json: No space left on device"):
        atomic_write(target, "new")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


def test_compare_on_a_full_disk_prints_one_line(tmp_path, monkeypatch, capsys):
    from vizcache.compare import runner

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runner, "prepare_data", full)
    assert main(["compare", str(write(tmp_path)), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"vizcache: error: cannot write into {tmp_path / 'out'}: No space left on device"


def test_a_failed_ground_truth_measurement_is_one_line(tmp_path, monkeypatch, capsys):
    from vizcache.compare import runner

    monkeypatch.setattr(runner, "_subprocess", lambda args: (1, "Traceback ...\nMemoryError: out of memory"))
    assert main(["compare", str(write(tmp_path)), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "vizcache: error: measuring the catalogs' true sizes failed: exited with code 1: MemoryError: out of memory"
