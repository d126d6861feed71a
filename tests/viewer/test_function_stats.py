"""The monitor's per-function table (#23): every ``@vizcache.cached`` function of the server process,
its calls, hit share, misses, entries and bytes, most bytes first."""

import pytest

import vizcache
from vizcache.config import load_config
from vizcache.viewer.function_stats import MAX_ROWS, function_rows
from vizcache.viewer.monitor import CacheMonitor
from vizcache.viewer.runtime import ViewerRuntime

from ..waiting import wait_until
from .conftest import make_config


def _stat(name, calls=0, hits=0, misses=0, entries=0, nbytes=0, disk_hits=0, shared=True):
    return {"function": name, "calls": calls, "hits": hits, "misses": misses, "disk_hits": disk_hits,
            "entries": entries, "bytes": nbytes, "policy": "RSSThresholdLRU", "shared_cache": shared}


def test_rows_say_calls_hit_share_and_bytes():
    rows = function_rows([_stat("load (app.py:3)", calls=10, hits=6, disk_hits=1, misses=3, entries=2, nbytes=3 * 2**20),
                          _stat("never called (app.py:9)", shared=False)])
    assert rows.to_dict("records") == [
        {"function": "load (app.py:3)", "calls": 10, "hit %": "70", "misses": 3, "entries": 2, "bytes": "3.00 MiB",
         "cache": "shared RSSThresholdLRU"},
        {"function": "never called (app.py:9)", "calls": 0, "hit %": "", "misses": 0, "entries": 0, "bytes": "0 B",
         "cache": "own RSSThresholdLRU"},
    ]


def test_many_functions_end_in_one_summed_row():
    rows = function_rows([_stat(f"f{i}", calls=2, hits=1, misses=1, entries=1, nbytes=1024) for i in range(MAX_ROWS + 5)])
    assert len(rows) == MAX_ROWS + 1
    assert rows.iloc[-1].to_dict() == {"function": "5 more functions", "calls": 10, "hit %": "50", "misses": 5,
                                       "entries": 5, "bytes": "5.00 KiB", "cache": ""}


@pytest.fixture
def runtime(viewer_data, tmp_path):
    runtime = ViewerRuntime(load_config(make_config(viewer_data, f"functions-{tmp_path.name}.toml")), sample_every=60)
    wait_until(lambda: runtime.rss_history, timeout=10, interval=0.01, message="the sampler's first sample")
    return runtime


def test_the_monitor_shows_the_processs_cached_functions(runtime):
    def monitored_square(x):
        return x * x

    square = vizcache.cached(monitored_square)
    monitor = CacheMonitor(runtime=runtime)
    square(3), square(3), square(4)
    monitor.refresh()
    # what the monitor shows is this process's table (other tests' functions included)...
    assert monitor._functions.table.value.equals(function_rows())
    assert monitor._functions.view.visible and monitor._functions.view in monitor.__panel__().objects
    # ... in which this function's row says what it did
    mine = [s for s in vizcache.cached_functions_stats() if s["function"].startswith("monitored_square ")]
    row = function_rows(mine).iloc[0]
    assert (row["calls"], row["hit %"], row["misses"], row["entries"]) == (3, "33", 2, 2)


def test_the_table_is_hidden_while_the_process_has_no_cached_function(monkeypatch):
    from vizcache.viewer import function_stats

    monkeypatch.setattr(function_stats, "cached_functions_stats", lambda: [])
    table = function_stats.FunctionTable()
    assert not table.view.visible and table.table.value.empty
    monkeypatch.setattr(function_stats, "cached_functions_stats", lambda: [_stat("load (app.py:3)", calls=1, misses=1)])
    table.refresh()
    assert table.view.visible and list(table.table.value["function"]) == ["load (app.py:3)"]
