"""The trace recorder: never fails a cache call, never blocks another key's hit, loses nothing silently."""

import json
import threading

import pytest

from vizcache import Cache, RSSThresholdLRU, read_trace
from vizcache.trace import TraceRecorder


class BlockingFile:
    """A file whose write waits until the test lets it go: a slow disk, deterministically."""

    def __init__(self, real):
        self.real, self.entered, self.release = real, threading.Event(), threading.Event()
        self.closed = False

    def write(self, text):
        self.entered.set()
        self.release.wait(10)
        return self.real.write(text)

    def flush(self):
        self.real.flush()

    def seek(self, *args):
        return self.real.seek(*args)

    def close(self):
        self.real.close()


def test_a_slow_trace_write_does_not_block_a_hit_on_another_key(tmp_path):
    recorder = TraceRecorder(tmp_path / "t.jsonl", flush_every=2)
    cache = Cache(RSSThresholdLRU(limit="1TiB"), trace=recorder)
    cache.get_or_load("b", lambda: "B")
    slow = recorder._file = BlockingFile(recorder._file)
    writer = threading.Thread(target=cache.get_or_load, args=("a", lambda: "A"))
    writer.start()  # its row fills the batch: this thread writes, and waits on the disk
    assert slow.entered.wait(10)
    hit = threading.Thread(target=cache.get_or_load, args=("b", lambda: "?"))
    hit.start()
    hit.join(5)
    finished_while_disk_blocked = not hit.is_alive()
    slow.release.set()
    writer.join(10)
    hit.join(10)
    assert finished_while_disk_blocked
    cache.close()
    assert [r["key"] for r in read_trace(tmp_path / "t.jsonl")] == ["b", "a", "b"]


def test_a_full_disk_never_fails_a_call_and_keeps_the_rows(tmp_path, caplog):
    path = tmp_path / "t.jsonl"
    recorder = TraceRecorder(path, flush_every=100, max_pending=2000)
    cache = Cache(RSSThresholdLRU(limit="1TiB"), trace=recorder)
    real = recorder._file
    recorder._file = open("/dev/full", "a", encoding="utf-8")  # every write: ENOSPC
    for i in range(2500):
        cache.get_or_load(i % 50, lambda: i)  # hits and misses
    assert recorder.lost == 500  # beyond max_pending, the oldest go, counted
    assert cache.stats()["trace_rows_lost"] == 500
    assert caplog.text.count("cannot write the access trace") == 1  # warned once
    recorder._file.close()
    recorder._file = real  # the disk has room again
    cache.close()
    rows = read_trace(path)
    assert len(rows) == 2000 and rows[-1]["key"] == str(2499 % 50)


def test_failed_loads_are_recorded(tmp_path):
    path = tmp_path / "t.jsonl"
    cache = Cache(RSSThresholdLRU(limit="1TiB"), trace=path)

    def broken():
        raise OSError("truncated catalog")

    with pytest.raises(OSError):
        cache.get_or_load("cat", broken)
    cache.close()
    (row,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert row["key"] == "cat" and row["failed"] is True and row["hit"] is False


def test_a_folder_is_not_a_trace_path(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        TraceRecorder(tmp_path)
