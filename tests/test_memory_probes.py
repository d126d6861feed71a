"""Probes: RSS fast path against psutil, cgroup v1/v2 limits from a fake filesystem, sizes."""

import gc
import platform
import subprocess
import sys

import numpy as np
import psutil
import pytest

from vizcache.memory import RSSProbe, auto_memory_limit, cgroup_memory_limit, peak_rss, release_memory, system_memory
from vizcache.units import format_bytes, parse_bytes


def test_statm_probe_agrees_with_psutil_and_sees_allocation():
    probe = RSSProbe()
    assert probe.method == "statm"
    assert abs(probe() - psutil.Process().memory_info().rss) < 8 * 2**20
    gc.collect()  # garbage from earlier tests must not be freed while we measure
    before = probe()
    block = np.ones(50 * 2**20 // 8)  # touched: resident
    assert probe() - before > 40 * 2**20
    del block


def test_probe_falls_back_to_psutil_when_closed():
    probe = RSSProbe()
    probe.close()
    assert probe.method == "psutil" and probe() > 0


def test_peak_rss_and_release_memory():
    assert peak_rss() >= RSSProbe()()
    assert release_memory() is (platform.libc_ver()[0] == "glibc")  # malloc_trim is glibc's; elsewhere there is nothing to call


def test_cgroup_v2_takes_tightest_ancestor(tmp_path):
    (tmp_path / "proc").write_text("0::/user.slice/app\n")
    (tmp_path / "user.slice" / "app").mkdir(parents=True)
    (tmp_path / "user.slice" / "app" / "memory.max").write_text("max\n")
    (tmp_path / "user.slice" / "memory.max").write_text(f"{3 * 2**30}\n")
    assert cgroup_memory_limit(tmp_path, tmp_path / "proc") == 3 * 2**30


def test_cgroup_v1_unlimited_is_none_and_limit_is_read(tmp_path):
    (tmp_path / "proc").write_text("5:memory:/docker/abc\n3:cpu:/\n")
    d = tmp_path / "memory" / "docker" / "abc"
    d.mkdir(parents=True)
    (d / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert cgroup_memory_limit(tmp_path, tmp_path / "proc") is None
    (d / "memory.limit_in_bytes").write_text(f"{2**30}\n")
    assert cgroup_memory_limit(tmp_path, tmp_path / "proc") == 2**30


def test_no_cgroup_file_means_no_limit(tmp_path):
    assert cgroup_memory_limit(tmp_path, tmp_path / "missing") is None


def test_auto_limit_falls_back_to_fraction_of_ram():
    total, available = system_memory()
    assert 0 < available <= total
    limit, source = auto_memory_limit(0.25)
    assert limit <= total
    if cgroup_memory_limit() is None:
        assert limit == int(total * 0.25) and source == "25% of physical RAM"


@pytest.mark.parametrize(("text", "expected"), [
    ("800MB", 800 * 10**6), ("1.5GiB", int(1.5 * 2**30)), ("4096", 4096), (" 2 kib ", 2048), (1024, 1024), ("3G", 3 * 2**30),
])
def test_parse_bytes(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("bad", ["lots", "-5MB", "1.5 XB", "", True, -1])
def test_parse_bytes_rejects(bad):
    with pytest.raises(ValueError, match="not a size"):
        parse_bytes(bad)


def test_format_bytes():
    assert format_bytes(1536 * 2**20) == "1.50 GiB" and format_bytes(512) == "512 B" and format_bytes(None) == "-"


FREEZE_CHECK = r"""
import gc, os, sys, weakref
from vizcache.memory import freeze_startup_heap

class Node:
    pass

def cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)

before = cycle()  # garbage already, but not yet collected when the heap is frozen
assert freeze_startup_heap() is True and gc.get_freeze_count() > 1000
assert freeze_startup_heap() is False  # once per process
after = cycle()
gc.collect()
assert before() is not None  # frozen: never walked again
assert after() is None  # what came after the freeze is collected as before
pid = os.fork()
if pid == 0:
    os._exit(0 if freeze_startup_heap() is True else 3)  # a forked child freezes its own start-up
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_freeze_startup_heap_once_per_process_and_later_garbage_still_collected():
    # In a child: a frozen pytest process would never collect its earlier tests' garbage.
    done = subprocess.run([sys.executable, "-c", FREEZE_CHECK], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_an_rss_policy_and_its_cache_leave_the_allocator_alone(monkeypatch):
    import vizcache.memory
    from vizcache import Cache, RSSThresholdLRU

    calls = []
    monkeypatch.setattr(vizcache.memory, "tune_allocator", lambda: calls.append(1) or True)
    cache = Cache(RSSThresholdLRU(limit="1TiB"))
    cache.get_or_load("a", lambda: 1)
    cache.get_or_load("b", lambda: 2)
    assert calls == []  # made, configured, loading: glibc untouched — start-up code decides


PREPARE_CHECK = """
import pyarrow as pa
import vizcache.memory as memory
from vizcache.viewer.app import prepare_server_process
calls = []
memory.tune_allocator = lambda: calls.append(1) or True
prepare_server_process()
prepare_server_process()
assert calls == [1], calls  # once per process
assert pa.default_memory_pool().backend_name == "system", pa.default_memory_pool().backend_name
"""


def test_the_server_process_tunes_glibc_and_arrow_once_at_start_up():
    # In a child: the pool and mallopt are process-wide, and pytest's process must keep its own.
    done = subprocess.run([sys.executable, "-c", PREPARE_CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
