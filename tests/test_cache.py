"""The Cache's one path: hits, misses, measured bytes, failures, entries, events, traces."""

import json

import pytest

from vizcache import AgeBased, Cache, RSSThresholdLRU, SizeEstimatedLRU, read_trace, Invalidation
from vizcache.trace import TraceRecorder

from .conftest import MiB


def roomy():
    return RSSThresholdLRU(limit="1TiB")


def test_hit_returns_cached_value_without_loading(memory):
    cache = Cache(roomy(), rss_probe=memory.rss)
    calls = []
    loader = lambda: calls.append(1) or memory.blob(MiB)  # noqa: E731
    first = cache.get_or_load("a", loader)
    second = cache.get_or_load("a", loader)
    assert first is second
    assert calls == [1]
    s = cache.stats()
    assert (s["hits"], s["misses"], s["loads"], s["admits"]) == (1, 1, 1, 1)
    assert s["hit_ratio"] == 0.5


def test_rss_delta_bytes_is_rss_delta_around_the_load(memory):
    cache = Cache(roomy(), rss_probe=memory.rss)
    cache.get_or_load("a", memory.loader(7 * MiB))
    [entry] = cache.entries()
    assert entry["rss_delta_bytes"] == 7 * MiB
    assert cache.stats()["bytes_loaded"] == 7 * MiB


def test_rss_delta_bytes_clamped_at_zero(memory):
    cache = Cache(roomy(), rss_probe=memory.rss)
    memory.other = 50 * MiB

    def loader():
        memory.other = 0  # something else freed memory during the load
        return memory.blob(MiB)

    cache.get_or_load("a", loader)
    assert cache.entries()[0]["rss_delta_bytes"] == 0


def test_loader_error_leaves_cache_as_it_was_and_reraises(memory):
    cache = Cache(roomy(), rss_probe=memory.rss)
    cache.get_or_load("a", memory.loader(MiB))

    def bad():
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        cache.get_or_load("b", bad)
    assert "b" not in cache and "a" in cache and len(cache) == 1
    s = cache.stats()
    assert s["load_failures"] == 1 and s["loads"] == s["admits"] + s["rejections"] + s["load_failures"]
    assert cache.events.since(0)[-1].kind == "load_error"
    # The key is not poisoned: the next call loads again.
    assert cache.get_or_load("b", memory.loader(MiB)).nbytes == MiB


def test_entries_report_lru_order_hits_and_times(memory, clock):
    cache = Cache(roomy(), rss_probe=memory.rss, clock=clock)
    cache.get_or_load("a", memory.loader(MiB))
    clock.advance(5)
    cache.get_or_load("b", memory.loader(2 * MiB))
    clock.advance(3)
    cache.get_or_load("a", memory.loader(MiB))
    rows = cache.entries()
    assert [r["key"] for r in rows] == ["b", "a"]
    a = rows[1]
    assert a["hits"] == 1 and a["age_s"] == 8 and a["idle_s"] == 0
    assert rows[0]["age_s"] == 3 and rows[0]["estimated_bytes"] is None
    assert set(a) >= {"key", "inserted", "last_access", "age_s", "hits", "load_seconds", "rss_delta_bytes", "estimated_bytes"}


def test_invalidate_and_clear(memory):
    cache = Cache(roomy(), rss_probe=memory.rss)
    for k in "abc":
        cache.get_or_load(k, memory.loader(MiB))
    assert memory.live == 3 * MiB
    assert cache.invalidate("b") == Invalidation(cached=1, in_flight=0)
    assert not cache.invalidate("b")
    assert "b" not in cache and len(cache) == 2 and memory.live == 2 * MiB
    assert cache.clear() == Invalidation(cached=2, in_flight=0)
    assert len(cache) == 0 and memory.live == 0


def test_event_log_polls_only_new_events(memory):
    cache = Cache(roomy(), rss_probe=memory.rss)
    cache.get_or_load("a", memory.loader(MiB))
    first = cache.events.since(0)
    assert [e.kind for e in first] == ["load"] and first[0].bytes == MiB
    cache.get_or_load("a", memory.loader(MiB))  # hits are counted, not logged
    cache.get_or_load("b", memory.loader(MiB))
    assert [e.key for e in cache.events.since(first[-1].seq)] == ["b"]


def test_event_log_is_bounded(memory):
    cache = Cache(roomy(), rss_probe=memory.rss, event_log_size=5)
    for i in range(20):
        cache.get_or_load(i, memory.loader(1))
    assert len(cache.events) == 5
    assert [e.key for e in cache.events.since(0)] == list(range(15, 20))  # the keys themselves, not their text


def test_trace_records_every_access(tmp_path, memory):
    path = tmp_path / "trace.jsonl"
    cache = Cache(roomy(), rss_probe=memory.rss, trace=path)
    cache.get_or_load("a", memory.loader(3 * MiB))
    cache.get_or_load("a", memory.loader(3 * MiB))
    cache.get_or_load("b", memory.loader(MiB))
    cache.close()
    rows = read_trace(path)
    assert [(r["key"], r["hit"], r["bytes"]) for r in rows] == [("a", False, 3 * MiB), ("a", True, 0), ("b", False, MiB)]
    assert rows[0]["load_s"] >= 0 and rows[0]["t"] <= rows[2]["t"]


def test_trace_recorder_flushes_in_batches(tmp_path):
    rec = TraceRecorder(tmp_path / "t.jsonl", flush_every=3, flush_seconds=3600)
    for i in range(4):
        rec.record(f"k{i}", False, 0.1, 10)
    assert len((tmp_path / "t.jsonl").read_text().splitlines()) == 3  # the fourth waits in the buffer
    rec.close()
    lines = (tmp_path / "t.jsonl").read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["k0", "k1", "k2", "k3"]


def test_stats_count_probe_time_as_overhead(memory):
    cache = Cache(roomy(), rss_probe=memory.rss)
    cache.get_or_load("a", memory.loader(MiB))
    s = cache.stats()
    assert s["probe_calls"] >= 2  # around the load at least
    assert s["overhead_seconds"] >= s["probe_seconds"] > 0
    assert s["policy"] == "RSSThresholdLRU" and s["params"]["limit"] == "1TiB"


def test_default_policy_is_rss_threshold_lru():
    cache = Cache()
    assert isinstance(cache.policy, RSSThresholdLRU)
    assert cache.rss() > 0 and cache.rss_method in ("statm", "psutil")


@pytest.mark.parametrize("policy", [roomy(), AgeBased(), SizeEstimatedLRU(estimator="deep", budget="1GiB")])
def test_every_policy_serves_hits(policy, memory):
    cache = Cache(policy, rss_probe=memory.rss)
    v = cache.get_or_load(("cat", 1), memory.loader(MiB))
    assert cache.get_or_load(("cat", 1), memory.loader(MiB)) is v
