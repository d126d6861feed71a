"""Traces: read with clear errors, exported in libCacheSim's csv layout."""

import csv
import json
import subprocess
import sys

import pytest

from vizcache import export_libcachesim_csv, read_trace
from vizcache.events import TraceError


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
