"""The cache monitor's words: keys by name, sizes from the rows in memory, hits summarised."""

import time

import numpy as np
import pandas as pd
import pytest
from bokeh.models import ColumnDataSource

from vizcache.cache_key import CacheKey, key_label
from vizcache.config import load_config
from vizcache.viewer.monitor import CacheMonitor, MiB, data_bytes
from vizcache.viewer.runtime import ViewerRuntime

from ..waiting import wait_until
from .conftest import make_config


def test_keys_read_as_catalog_and_partition_names():
    assert key_label(CacheKey("BOTH", "e1ffdf3a7767")) == "BOTH"  # the version never shows
    assert key_label(CacheKey("MEMBERS_HATS", "v3", ("Norder=5/Npix=1234",))) == "MEMBERS_HATS Norder=5/Npix=1234"
    assert key_label("") == "" and key_label("sized entry") == "sized entry"
    assert key_label(("a", 1)) == "('a', 1)"  # any other key: its text, nothing parsed


def test_the_event_log_keeps_the_key_itself_and_a_trace_its_old_text(tmp_path):
    from vizcache import Cache, TraceRecorder, read_trace
    from vizcache.policies import AgeBased

    key = CacheKey("BOTH", "e1ffdf3a7767", ("Norder=5/Npix=1234",))
    trace = TraceRecorder(tmp_path / "t.jsonl")
    cache = Cache(AgeBased(max_entries=1), trace=trace)
    cache.get_or_load(key, lambda: 1)
    cache.get_or_load("other", lambda: 2)  # evicts key
    trace.close()
    assert [e.key for e in cache.events.since(0) if e.kind in ("load", "evict")][:2] == [key, "other"]
    # traces recorded before CacheKey held plain tuples; both read the same
    assert [row["key"] for row in read_trace(tmp_path / "t.jsonl")][0] == str(("BOTH", "e1ffdf3a7767", "Norder=5/Npix=1234"))


def test_data_size_counts_the_rows_in_memory_strings_included():
    frame = pd.DataFrame({"ra": np.zeros(1000), "name": ["PSZ2 G266.04-21.25"] * 1000})

    class Catalog:
        data = frame

    assert data_bytes(Catalog()) == data_bytes(frame) > 1000 * 8 + 1000 * len("PSZ2 G266.04-21.25")
    assert data_bytes(object()) is None  # not in memory (a Dask catalog): no size, not 0


@pytest.fixture
def runtime(viewer_data, tmp_path):
    """A runtime whose RSS history holds only the samples a test adds (its sampler thread's first
    sample taken and dropped; the next is a minute away)."""
    runtime = ViewerRuntime(load_config(make_config(viewer_data, f"monitor-{tmp_path.name}.toml")), sample_every=60)
    wait_until(lambda: runtime.rss_history, timeout=10, interval=0.01, message="the sampler's first sample")
    runtime.rss_history.clear()
    return runtime


def sample(runtime, at: float) -> None:
    """An RSS sample as the runtime's sampler thread takes it, at time ``at``."""
    runtime.rss_history.append((at, runtime.cache.rss_unmetered(), runtime.cache.managed_bytes()))


def streams(monkeypatch) -> list:
    """What the monitor streams to its RSS plot: (times in ms, rollover) per call."""
    calls = []
    monkeypatch.setattr(ColumnDataSource, "stream", lambda self, data, rollover=None: calls.append((list(data["time"]), rollover)))
    return calls


def test_a_refresh_sends_only_what_changed(runtime, monkeypatch):
    # Every open page refreshes its monitor each second: an unchanged entries table and the RSS
    # history already drawn must not go to the page again.
    runtime.cache.put("entry", bytearray(16), size=MiB)
    now = time.time()
    for t in (now - 3, now - 2):
        sample(runtime, t)
    monitor = CacheMonitor(runtime=runtime)
    tables, streamed = [], streams(monkeypatch)
    monitor._entries.param.watch(lambda event: tables.append(event.new), "value")
    monitor.refresh()
    assert tables == [] and streamed == []  # nothing new: nothing sent
    sample(runtime, now - 1)
    monitor.refresh()
    assert tables == [] and streamed == [([(now - 1) * 1e3], 3)]  # the new sample only; the window holds 3
    runtime.cache.put("another", bytearray(16), size=MiB)
    monitor.refresh()
    assert len(tables) == 1 and set(tables[0]["key"]) == {"entry", "another"}


def test_samples_that_leave_the_window_roll_over(runtime, monkeypatch):
    now = time.time()
    sample(runtime, now - 500)  # older than the 300-s window
    sample(runtime, now - 2)
    monitor = CacheMonitor(runtime=runtime)
    assert len(monitor._rss_source.data["time"]) == 1
    streamed = streams(monkeypatch)
    sample(runtime, now - 1)
    monitor.refresh()
    assert streamed == [([(now - 1) * 1e3], 2)]


def test_changed_marks_or_an_emptied_window_redraw_the_whole_plot(runtime, monkeypatch):
    # A stream must carry every column the plot has: when the policy's marks change (a policy
    # swapped, a water mark set to 0) it would fail on every refresh; the plot is redrawn instead.
    now = time.time()
    sample(runtime, now - 30)
    monitor = CacheMonitor(runtime=runtime)
    streamed = streams(monkeypatch)
    monkeypatch.setattr(monitor, "_marks", lambda: [("limit", 4096.0, "red")])
    sample(runtime, now - 25)
    monitor.refresh()
    assert streamed == [] and set(monitor._rss_source.data) == {"time", "rss", "managed", "limit"}
    assert len(monitor._rss_source.data["time"]) == 2
    # No new sample, but the old ones left the window: the plot is emptied, not left as it was.
    monitor.history_seconds = 10
    monitor.refresh()
    assert streamed == [] and len(monitor._rss_source.data["time"]) == 0


def test_a_refresh_due_while_one_runs_is_skipped(runtime):
    monitor = CacheMonitor(runtime=runtime)
    runtime.cache.put("entry", bytearray(16), size=MiB)
    tables = []
    monitor._entries.param.watch(lambda event: tables.append(event.new), "value")
    with monitor._refreshing:  # a refresh on another of Panel's threads
        monitor.refresh()
    assert tables == []
    monitor.refresh()
    assert len(tables) == 1
