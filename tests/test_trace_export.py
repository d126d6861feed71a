"""Traces: read with clear errors, exported in libCacheSim's csv layout."""

import csv
import json
import subprocess
import sys

import pytest

from vizcache import export_libcachesim_csv, read_trace
from vizcache.trace import TraceError


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_libcachesim_csv_layout(tmp_path):
    trace = tmp_path / "t.jsonl"
    write(trace, [
        {"t": 0.5, "key": "PZWAV", "hit": False, "load_s": 1.2, "bytes": 500},
        {"t": 1.7, "key": "AMICO", "hit": False, "load_s": 0.9, "bytes": 300},
        {"t": 2.1, "key": "PZWAV", "hit": True, "load_s": 0.0, "bytes": 0},
    ])
    out = tmp_path / "t.csv"
    assert export_libcachesim_csv(trace, out) == 3
    rows = list(csv.reader(out.open()))
    assert rows == [["time", "obj_id", "obj_size"], ["0", "1", "500"], ["1", "2", "300"], ["2", "1", "500"]]


@pytest.mark.parametrize(("line", "message"), [
    ("not json", ":1: not JSON"),
    ('{"t": 1, "key": "a", "hit": "yes", "load_s": 0, "bytes": 0}', ":1: field 'hit' missing or of the wrong type"),
    ("[1, 2]", ":1: expected an object"),
])
def test_bad_trace_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(TraceError) as info:
        read_trace(path)
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_cli_export_trace_error_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "vizcache.cli", "export-trace", str(tmp_path / "none.jsonl"), str(tmp_path / "o.csv")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "cannot read trace" in proc.stderr


def test_truncated_last_line_is_skipped_with_a_warning(tmp_path, caplog):
    path = tmp_path / "killed.jsonl"
    path.write_text(json.dumps({"t": 0, "key": "a", "hit": False, "load_s": 0.1, "bytes": 5}) + '\n{"t": 1, "key": "b", "hi')
    rows = read_trace(path)
    assert [r["key"] for r in rows] == ["a"]
    assert ":2: last line is truncated" in caplog.text


@pytest.mark.parametrize(("data", "message"), [
    (b'{"t": 0, "key": "a", "hit": false, "load_s": 0, "bytes": 1}\n\xff\xfe garbage\n', ":2: not UTF-8"),
    (b"", "holds no requests"),
    (b"\n\n", "holds no requests"),
    (b'{"t": 0, "key": "a", "hit": false, "load_s": 0, "bytes": -4}\n', ":1: sizes must not be negative"),
    (b'{"t": 0, "key": "a", "hit": false, "load_s": 0, "bytes": 1, "size": "9"}\n', ":1: field 'size'"),
])
def test_unreadable_traces_are_one_error_with_the_line(tmp_path, data, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(data)
    with pytest.raises(TraceError, match=message):
        read_trace(path)


def test_export_prefers_reported_sizes_and_never_writes_zero_silently(tmp_path):
    trace = tmp_path / "t.jsonl"
    write(trace, [
        {"t": 0, "key": "a", "hit": False, "load_s": 1, "bytes": 0, "size": 700},  # reported wins over delta 0
        {"t": 1, "key": "b", "hit": False, "load_s": 1, "bytes": 0, "size": None},  # unknown
        {"t": 2, "key": "b", "hit": True, "load_s": 0, "bytes": 0, "size": None},
    ])
    out = tmp_path / "t.csv"
    with pytest.raises(TraceError, match="1 of 2 keys have no known size .*'b'"):
        export_libcachesim_csv(trace, out)
    assert not out.exists()
    assert export_libcachesim_csv(trace, out, unknown_size=64) == 3
    assert [r[2] for r in csv.reader(out.open())][1:] == ["700", "64", "64"]
    proc = subprocess.run([sys.executable, "-m", "vizcache.cli", "export-trace", str(trace), str(out), "--unknown-size", "lots"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--unknown-size" in proc.stderr and "Traceback" not in proc.stderr
