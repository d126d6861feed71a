"""`vizcache simulate --format oracleGeneral`, `export-trace --format oracleGeneral`, --orders and their bad input."""

import json

import numpy as np
import pytest

from tests.cli_run import one_error_line, vizcache
from vizcache.compare import models
from vizcache.compare.tracefile import ORACLE_GENERAL, next_access_vtime, read_jsonl, read_oracle_general, write_oracle_general
from vizcache.trace import TraceError

TRACE = "benchmarks/traces/viewer_zipf_47.jsonl"


def test_next_access_vtime_counts_requests_from_one_as_libcachesim_does():
    # libCacheSim's own cloudPhysics file: request 7 (id 6160447) is next asked for at request 19
    assert next_access_vtime(np.array([5, 7, 5, 5, 9])).tolist() == [3, -1, 4, -1, -1]


def test_oracle_general_round_trip(tmp_path):
    path = tmp_path / "t.bin"
    assert write_oracle_general(path, [0, 1, 2, 3], [10, 2**63 + 5, 10, 7], [100, 200, 100, 50]) == 4
    assert path.stat().st_size == 4 * ORACLE_GENERAL.itemsize == 96
    requests = read_oracle_general(path)
    assert requests.keys.tolist() == [7, 10, 2**63 + 5] and requests.ids.tolist() == [1, 2, 1, 0]
    assert requests.sizes.tolist() == [100, 200, 100, 50]
    assert np.fromfile(path, ORACLE_GENERAL)["next_access_vtime"].tolist() == [3, -1, -1, -1]


def test_export_then_simulate_gives_the_same_curves_as_the_jsonl_trace(tmp_path):
    out = tmp_path / "zipf.oracleGeneral.bin"
    proc = vizcache("export-trace", TRACE, out, "--format", "oracleGeneral")
    assert proc.returncode == 0 and "wrote 1000 requests" in proc.stdout, proc.stderr
    jsonl, binary = read_jsonl(TRACE), read_oracle_general(out)
    assert binary.ids.tolist() == jsonl.ids.tolist() and binary.sizes.tolist() == jsonl.sizes.tolist()
    budgets = "64MiB,256MiB"
    docs = [json.loads(vizcache("simulate", path, "--format", fmt, "--budgets", budgets, "--json").stdout)
            for path, fmt in ((TRACE, "jsonl"), (out, "oracleGeneral"))]
    assert docs[0]["policies"] == docs[1]["policies"]
    assert set(docs[0]["policies"]) == {"lru", "s3fifo", "sieve", "RSSThresholdLRU", "RSSThresholdLRU s3fifo", "RSSThresholdLRU sieve",
                                        "LegacyRSSManager"}
    # the plain models are libCacheSim's algorithms on the trace's requests
    capacity = 64 * 2**20
    misses = models.sieve(jsonl.ids.tolist(), jsonl.sizes.tolist(), capacity, len(jsonl.keys))[0]
    assert docs[1]["policies"]["sieve"]["hit_ratio"][0] == 1 - misses / 1000


def test_orders_choose_the_models(tmp_path):
    doc = json.loads(vizcache("simulate", TRACE, "--orders", "sieve,lru", "--budgets", "100MiB", "--json").stdout)
    assert set(doc["policies"]) == {"sieve", "lru", "RSSThresholdLRU sieve", "RSSThresholdLRU", "LegacyRSSManager"}
    assert set(doc["requests_per_second"]) == set(doc["policies"])


def test_truncated_binary_trace_is_one_line_naming_the_file_and_the_formats(tmp_path):
    good = tmp_path / "t.bin"
    write_oracle_general(good, [0, 1], [1, 2], [10, 10])
    cut = tmp_path / "cut.bin"
    cut.write_bytes(good.read_bytes()[:-5])
    line = one_error_line(vizcache("simulate", cut, "--format", "oracleGeneral"))
    assert f"{cut}: 43 bytes is not a whole number of 24-byte oracleGeneral records" in line and "jsonl, oracleGeneral" in line


def test_wrong_format_either_way_is_one_line(tmp_path):
    good = tmp_path / "t.bin"
    write_oracle_general(good, [0, 1], [1, 2], [10, 10])
    line = one_error_line(vizcache("simulate", good))  # binary read as JSON Lines
    assert str(good) in line and "give --format oracleGeneral" in line
    text = tmp_path / "t.jsonl"
    text.write_bytes(b"x" * 48)  # a whole number of records, but not one: next_access_vtime points nowhere
    line = one_error_line(vizcache("simulate", text, "--format", "oracleGeneral"))
    assert str(text) in line and "not an oracleGeneral trace" in line
    proc = vizcache("simulate", good, "--format", "csv")  # argparse's usage, then one line naming what is allowed
    assert proc.returncode == 2 and "argument --format: invalid choice: 'csv' (choose from 'jsonl', 'oracleGeneral')" in proc.stderr


@pytest.mark.parametrize("args,expected", [(["--orders", "mru"], "'mru': give one or more of lru, s3fifo, sieve"),
                                           (["--sample", "0"], "'0': give a sampling rate above 0 and at most 1")])
def test_bad_orders_and_rates_are_one_line(args, expected):
    proc = vizcache("simulate", TRACE, *args)
    assert proc.returncode == 2 and expected in proc.stderr and "Traceback" not in proc.stderr


def test_an_empty_binary_trace_is_an_error(tmp_path):
    empty = tmp_path / "e.bin"
    empty.write_bytes(b"")
    with pytest.raises(TraceError, match="holds no requests"):
        read_oracle_general(empty)


def test_sample_simulates_the_sampled_keys_at_scaled_budgets():
    doc = json.loads(vizcache("simulate", TRACE, "--sample", "0.5", "--budgets", "256MiB", "--json").stdout)
    sample = doc["sample"]
    assert 0 < sample["requests"] < doc["requests"] and sample["budgets"] == [round(256 * 2**20 * sample["rate"])]
    assert 0 <= doc["policies"]["sieve"]["hit_ratio"][0] <= 1
