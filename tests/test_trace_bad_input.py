"""Hostile and unusual traces: one line naming the file and line, for every reader of traces; bounded memory."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap

import pytest

from vizcache import Cache, RSSThresholdLRU, Sized, export_libcachesim_csv, read_trace
from vizcache.compare.workloads import from_trace, recorded_keys
from vizcache.trace import MAX_TRACE_LINE, TraceError

from .cli_run import one_error_line, vizcache

GOOD = {"t": 0.5, "key": "a", "hit": False, "load_s": 0.1, "bytes": 0, "size": 4096}


BAD_LINES = {
    "nan-time": ('{"t": NaN, "key": "a", "hit": false, "load_s": 0.1, "bytes": 1}', "NaN is not allowed"),
    "infinite-time": ('{"t": Infinity, "key": "a", "hit": false, "load_s": 0.1, "bytes": 1}', "Infinity is not allowed"),
    "minus-infinite-time": ('{"t": -Infinity, "key": "a", "hit": false, "load_s": 0.1, "bytes": 1}', "-Infinity is not allowed"),
    "overflowing-time": ('{"t": 1e999, "key": "a", "hit": false, "load_s": 0.1, "bytes": 1}', "field 't' = inf is not allowed"),
    "negative-time": ('{"t": -1, "key": "a", "hit": false, "load_s": 0.1, "bytes": 1}', "field 't' = -1 is not allowed"),
    "nan-load-seconds": ('{"t": 1, "key": "a", "hit": false, "load_s": NaN, "bytes": 1}', "NaN is not allowed"),
    "size-of-5000-digits": ('{"t": 1, "key": "a", "hit": false, "load_s": 0.1, "bytes": ' + "9" * 5000 + "}", "a number thousands of digits long"),
    "size-over-int64": ('{"t": 1, "key": "a", "hit": false, "load_s": 0.1, "bytes": ' + str(2**64) + "}", "sizes must not be negative or above"),
    "deeply-nested": ('{"t": 1, "key": "a", "hit": false, "load_s": 0.1, "bytes": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
                      "nested too deeply"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_a_bad_value_is_one_error_naming_file_and_line_for_every_reader(tmp_path, case):
    line, message = BAD_LINES[case]
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + line + "\n")
    for read in (read_trace, lambda p: from_trace(p, ["a"]), recorded_keys, lambda p: export_libcachesim_csv(p, tmp_path / "o.csv")):
        with pytest.raises(TraceError) as info:
            read(path)
        assert str(info.value).startswith(f"{path}:2: ") and message in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("command", ["export-trace", "simulate"])
@pytest.mark.parametrize("case", ["nan-time", "infinite-time", "overflowing-time"])
def test_cli_refuses_non_finite_times_with_one_line(tmp_path, command, case):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + BAD_LINES[case][0] + "\n")
    line = one_error_line(vizcache(command, path, *([tmp_path / "o.csv"] if command == "export-trace" else [])))
    assert line.startswith(f"vizcache: error: {path}:2: ")


def test_a_trace_the_cache_recorded_with_failed_loads_is_exported_and_simulated(tmp_path):
    """Failed loads are what the recorder writes (hit false, bytes 0, failed true); they cached nothing and are left out."""
    trace = tmp_path / "viewer.jsonl"
    cache = Cache(RSSThresholdLRU(limit="1GiB"), trace=trace)
    cache.get_or_load("a", lambda: Sized("x", 4096))
    cache.get_or_load("a", lambda: "never called")
    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            cache.get_or_load("broken", lambda: 1 / 0)
    cache.close()
    rows = read_trace(trace)
    assert [(r["key"], r.get("failed", False)) for r in rows] == [("a", False), ("a", False), ("broken", True), ("broken", True)]
    out = tmp_path / "t.csv"
    assert export_libcachesim_csv(trace, out) == 2
    assert [r[1:] for r in csv.reader(out.open())] == [["obj_id", "obj_size"], ["1", "4096"], ["1", "4096"]]
    proc = vizcache("export-trace", trace, out)
    assert proc.returncode == 0 and "2 failed loads left out" in proc.stderr, proc.stderr
    proc = vizcache("simulate", trace, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["keys"] == 1


def test_a_trace_of_failed_loads_only_says_so(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"t": 0, "key": "b", "hit": False, "load_s": 0.0, "bytes": 0, "size": None, "failed": True}) + "\n")
    with pytest.raises(TraceError, match="holds no requests but 1 failed loads"):
        export_libcachesim_csv(path, tmp_path / "o.csv")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "folder", "dev-zero"])
def test_a_trace_that_is_not_a_file_is_one_line_and_never_blocks(tmp_path, kind):
    path = tmp_path / "t.jsonl"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero")
    line = one_error_line(vizcache("simulate", path, timeout=30))
    assert f"{path}: not a regular file" in line


def test_a_trace_path_holding_a_nul_is_one_error(tmp_path):
    with pytest.raises(TraceError, match="a path cannot hold a NUL character"):
        read_trace(f"{tmp_path}/t\0.jsonl")


PEAK_RSS = textwrap.dedent("""
    import contextlib, io, resource, sys
    from vizcache.cli import main
    with contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(["simulate", sys.argv[1]])
    print(code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, err.getvalue().strip(), sep="\\n")
""")


def peak_rss_of_simulate(path) -> tuple[int, int, str]:
    proc = subprocess.run([sys.executable, "-c", PEAK_RSS, str(path)], capture_output=True, text=True, timeout=300)
    code, peak, message = proc.stdout.strip().split("\n", 2)
    return int(code), int(peak), message


def test_one_huge_line_is_refused_naming_it_without_reading_it_whole(tmp_path):
    """A 50 MiB line: one error naming the line, and peak memory as for a one-line file (it is read a MiB at most)."""
    small, huge = tmp_path / "small.jsonl", tmp_path / "huge.jsonl"
    small.write_text('{"t": 0, "key": "' + "k" * 1000 + '"')  # one cut-off line: an empty trace
    with huge.open("w") as fh:
        fh.write(json.dumps(GOOD) + "\n" + '{"t": 0, "key": "')
        for _ in range(50):
            fh.write("k" * 2**20)
        fh.write('", "hit": false, "load_s": 0, "bytes": 1}\n')
    code, baseline, _ = peak_rss_of_simulate(small)
    code, peak, message = peak_rss_of_simulate(huge)
    assert code == 2 and message == f"vizcache: error: {huge}:2: line longer than {MAX_TRACE_LINE // 2**20} MiB; " \
                                     "a trace line is one request of a few hundred bytes"
    assert peak - baseline < 16 * 2**20, f"peak RSS {peak / 2**20:.0f} MiB, {baseline / 2**20:.0f} MiB for a one-line trace"
