"""Probes: RSS fast path against psutil, cgroup v1/v2 limits from a fake filesystem, sizes."""

import gc
import platform
import subprocess
import sys

import numpy as np
import psutil
import pytest

from vizcache.config_file import ConfigError
from vizcache.memory import (
    RSSProbe,
    auto_memory_limit,
    cgroup_memory_limit,
    memory_bound,
    peak_rss,
    release_memory,
    rss_rlimit,
    server_processes,
    system_memory,
)
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


def test_auto_limit_is_a_fraction_of_the_tightest_bound_divided_by_the_processes(monkeypatch):
    total, available = system_memory()
    assert 0 < available <= total
    monkeypatch.delenv("VIZCACHE_PROCESSES", raising=False)
    bound, what = memory_bound()
    assert bound <= total and bound == min(b for b in (total, cgroup_memory_limit(), rss_rlimit()) if b is not None)
    limit, source = auto_memory_limit(0.25)
    assert limit == int(bound * 0.25) and source == f"25 % of the {format_bytes(bound)} {what}"
    monkeypatch.setenv("VIZCACHE_PROCESSES", "3")  # what `vizcache serve --num-procs 3` tells its children
    limit, source = auto_memory_limit()
    assert limit == int(bound * 0.8) // 3 and source == f"80 % of the {format_bytes(bound)} {what} / 3 processes"
    assert auto_memory_limit(0.5, processes=2)[0] == int(bound * 0.5) // 2  # an explicit count wins over the environment


def test_the_bound_is_the_cgroup_limit_or_rlimit_rss_when_tighter_than_ram(monkeypatch):
    import vizcache.memory as memory

    monkeypatch.setattr(memory, "system_memory", lambda: (16 * 2**30, 8 * 2**30))
    monkeypatch.setattr(memory, "cgroup_memory_limit", lambda: 2 * 2**30)
    monkeypatch.setattr(memory, "rss_rlimit", lambda: None)
    assert auto_memory_limit(processes=2) == (int(2 * 2**30 * 0.8) // 2, "80 % of the 2.00 GiB cgroup limit / 2 processes")
    monkeypatch.setattr(memory, "rss_rlimit", lambda: 2**30)
    assert auto_memory_limit(processes=1) == (int(2**30 * 0.8), "80 % of the 1.00 GiB RLIMIT_RSS")
    monkeypatch.setattr(memory, "cgroup_memory_limit", lambda: None)
    monkeypatch.setattr(memory, "rss_rlimit", lambda: None)
    assert auto_memory_limit(processes=1) == (int(16 * 2**30 * 0.8), "80 % of the 16.00 GiB physical RAM")


def test_rlimit_rss_is_read_from_the_process():
    import resource

    soft = resource.getrlimit(resource.RLIMIT_RSS)[0]
    assert rss_rlimit() == (None if soft == resource.RLIM_INFINITY else soft)
    # 64 MiB: tighter than any RAM or cgroup limit a test runs in (Linux does not enforce RLIMIT_RSS; dask reads it too)
    child = subprocess.run([sys.executable, "-c", "import resource; resource.setrlimit(resource.RLIMIT_RSS, (2**26, 2**26)); "
                            "from vizcache.memory import rss_rlimit, memory_bound; print(rss_rlimit(), *memory_bound())"],
                           capture_output=True, text=True, check=True)
    assert child.stdout.split() == [str(2**26), str(2**26), "RLIMIT_RSS"]


@pytest.mark.parametrize("bad", ["0", "65", "two", "-1", "1.5", "٣"])
def test_a_bad_process_count_is_one_line_naming_the_variable(bad):
    with pytest.raises(ConfigError) as error:
        server_processes({"VIZCACHE_PROCESSES": bad})
    assert str(error.value) == (f"environment variable VIZCACHE_PROCESSES={bad!r} is not allowed: "
                                "use a whole number of server processes from 1 to 64")


def test_the_process_count_defaults_to_one():
    assert server_processes({}) == 1 and server_processes({"VIZCACHE_PROCESSES": " 4 "}) == 4


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
