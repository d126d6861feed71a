"""``to_disk=True`` (#23): results survive the process, the disk tier is bounded in entries and
bytes (``pn.cache``'s never evicts), memory evictions fall back to it, and a disk that fails never
fails a call."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import diskcache

import vizcache
from vizcache.memoize import _function_name
from vizcache.memoize_disk import disk_directory


def _recorded(tag: str):
    runs = []

    def compute(x, size=0):
        runs.append(x)
        return bytes(size) + str(x).encode()

    compute.__qualname__ = f"compute_{tag}"  # a cache of its own per test
    return compute, runs


def test_results_survive_the_process(tmp_path):
    script = textwrap.dedent(f"""
        import vizcache
        @vizcache.cached(to_disk=True, cache_path={str(tmp_path)!r})
        def square(x):
            print("ran", x)
            return x * x
        print(square(12))
    """)
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
            for _ in range(2)]
    assert [r.stdout.split() for r in runs] == [["ran", "12", "144"], ["144"]], [r.stderr[-500:] for r in runs]


def test_the_disk_tier_is_bounded_in_entries(tmp_path):
    compute, runs = _recorded("entries")
    f = vizcache.cached(compute, to_disk=True, cache_path=tmp_path, disk_max_items=3)
    for x in range(10):
        f(x)
    assert len(diskcache.Cache(str(disk_directory(tmp_path, _function_name(f.__wrapped__))))) == 3


def test_the_disk_tier_is_bounded_in_bytes(tmp_path):
    compute, runs = _recorded("bytes")
    f = vizcache.cached(compute, to_disk=True, cache_path=tmp_path, disk_limit="1MiB")
    for x in range(40):
        f(x, size=100_000)  # 4 MB written in all
    store = diskcache.Cache(str(disk_directory(tmp_path, _function_name(f.__wrapped__))))
    assert store.volume() <= 2**20 + 200_000  # the limit, plus what one set adds before it culls
    assert 0 < len(store) < 40


def test_what_memory_drops_for_memory_comes_back_from_disk(tmp_path):
    compute, runs = _recorded("spill")
    f = vizcache.cached(compute, to_disk=True, cache_path=tmp_path, budget="64KiB")
    f(1, size=40_000)
    f(2, size=40_000)  # over the budget: 1 leaves memory, stays on disk
    assert f.cache_info().entries == 1
    assert f(1, size=40_000).endswith(b"1") and runs == [1, 2]
    assert f.cache_info().disk_hits == 1


def test_max_items_ttl_and_clear_apply_on_disk_too(tmp_path):
    compute, runs = _recorded("count")
    f = vizcache.cached(compute, max_items=1, to_disk=True, cache_path=tmp_path)
    f(1), f(2), f(1)
    assert runs == [1, 2, 1]  # the count bound evicted 1 from disk as well, as pn.cache's would
    f.clear()
    f(1)
    assert runs == [1, 2, 1, 1]


def test_methods_and_sessions_are_not_written_to_disk(tmp_path):
    class Catalog:
        @vizcache.cached(to_disk=True, cache_path=tmp_path)
        def rows(self, n):
            return list(range(n))

    assert Catalog().rows(3) == [0, 1, 2]
    assert not any(tmp_path.iterdir())  # an id is only this process's: on disk it would match another object


def test_a_disk_that_fails_never_fails_a_call(tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    compute, runs = _recorded("blocked")
    f = vizcache.cached(compute, to_disk=True, cache_path=blocked)
    with caplog.at_level(logging.WARNING, logger="vizcache.memoize"):
        assert f(1) == b"1" and f(1) == b"1" and f(2) == b"2"
    assert runs == [1, 2]  # memory still caches
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "could not read the disk cache" in warnings[0] and "\n" not in warnings[0]


def test_an_unpicklable_result_stays_in_memory(tmp_path, caplog):
    @vizcache.cached(to_disk=True, cache_path=tmp_path)
    def handler(x):
        return lambda: x

    with caplog.at_level(logging.WARNING, logger="vizcache.memoize"):
        first = handler(1)
    assert handler(1) is first and "could not write the disk cache" in caplog.text


def test_a_result_read_back_after_a_restart_keeps_its_ttl(tmp_path):
    """Written by one process, read by the next: served until ttl after it was *written*, not after the read."""
    ttl = 4.0
    script = textwrap.dedent(f"""
        import sys, time
        import vizcache

        @vizcache.cached(to_disk=True, cache_path={str(tmp_path)!r}, ttl={ttl})
        def f(x):
            print("ran", flush=True)
            return x

        if sys.argv[1] == "write":
            f(1)
            print("written", time.time())
        else:
            written = float(sys.argv[2])
            time.sleep(max(0.0, written + {ttl} / 2 - time.time()))
            print("read", f(1), flush=True)  # from disk: half its ttl left
            time.sleep(max(0.0, written + {ttl} + 0.5 - time.time()))
            print("again", f(1))  # past the ttl counted from the write: runs again
    """)
    first = subprocess.run([sys.executable, "-c", script, "write"], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr[-500:]
    written = first.stdout.split()[-1]
    second = subprocess.run([sys.executable, "-c", script, "read", written], capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr[-500:]
    assert second.stdout.split("\n")[:3] == ["read 1", "ran", "again 1"]


def test_an_invalidation_in_the_shared_cache_reaches_only_its_functions_disk(tmp_path):
    compute_a, runs_a = _recorded("shared_a")
    compute_b, runs_b = _recorded("shared_b")
    a = vizcache.cached(compute_a, to_disk=True, cache_path=tmp_path)
    b = vizcache.cached(compute_b, to_disk=True, cache_path=tmp_path)
    assert a.cache is b.cache  # one cache for the process's memory bound, two disk tiers
    a(1), b(1)
    [key_a] = [k for k in a.cache if k[0] == _function_name(compute_a)]
    [key_b] = [k for k in b.cache if k[0] == _function_name(compute_b)]
    a.cache.invalidate(key_a)  # gone from memory and from a's disk: a runs again
    b.cache.pop(key_b)  # gone from memory; the same for b ("invalidated" to a listener)
    a(1), b(1)
    assert (runs_a, runs_b) == ([1, 1], [1, 1])
    b.cache.evict_entries([e for e in b.cache.entry_objects() if e.key == key_b], reason="test")
    b(1)  # evicted for memory's sake: read back from b's disk, not run
    assert runs_b == [1, 1] and b.cache_info().disk_hits == 1
