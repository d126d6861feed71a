"""RSSThresholdLRU with a fake RSS that follows live payloads: order, hysteresis, rejection."""

import pytest

from vizcache import Cache, RSSThresholdLRU

from .conftest import MiB


def make(memory, limit=200 * MiB, high=0.8, low=0.6):
    # base 100 MiB; limit 200 MiB: high water 160 MiB, low water 120 MiB
    return Cache(RSSThresholdLRU(limit=limit, high_water=high, low_water=low), rss_probe=memory.rss)


def test_resolves_size_strings_and_watermarks():
    p = RSSThresholdLRU(limit="1GiB", high_water=0.9, low_water=0.5)
    assert (p.limit_bytes, p.high_bytes, p.low_bytes) == (2**30, int(0.9 * 2**30), 2**29)
    p.limit = "2GiB"  # a param.watch keeps the plain attributes in step
    assert p.limit_bytes == 2**31 and p.high_bytes == int(0.9 * 2**31)


def test_auto_limit_is_the_processes_share_of_the_tightest_bound(monkeypatch):
    from vizcache.memory import memory_bound
    from vizcache.units import format_bytes

    monkeypatch.setenv("VIZCACHE_PROCESSES", "2")
    p = RSSThresholdLRU()
    bound, what = memory_bound()
    assert p.limit == "auto" and p.limit_bytes == int(bound * 0.8) // 2
    assert p.limit_source == f"80 % of the {format_bytes(bound)} {what} / 2 processes"
    p = RSSThresholdLRU(auto_fraction=0.5)
    assert p.limit_bytes == int(bound * 0.5) // 2 and p.limit_source.startswith("50 % of the ")


def test_low_water_must_be_below_high_water():
    with pytest.raises(ValueError, match="low_water"):
        RSSThresholdLRU(limit="1GiB", high_water=0.5, low_water=0.6)


def test_evicts_least_recently_used_first_just_back_under_high_water(memory):
    cache = make(memory, low=0.7)
    for key in "abcd":  # 4 x 15 MiB: RSS 160 MiB, at (not above) high water
        cache.get_or_load(key, memory.loader(15 * MiB))
    cache.get_or_load("a", memory.loader(15 * MiB))  # touch a: b is now least recent
    assert len(cache) == 4
    cache.get_or_load("e", memory.loader(15 * MiB))  # 175 MiB > high: evicting b alone gives 160
    assert [e["key"] for e in cache.entries()] == ["c", "d", "a", "e"]
    assert memory.rss() == 160 * MiB
    s = cache.stats()
    assert s["evictions"] == 1 and s["bytes_reclaimed"] == 15 * MiB


def test_makes_just_enough_room_for_a_key_it_has_loaded_before(memory):
    cache = make(memory)
    for key in "abcd":  # RSS 160 MiB = high water
        cache.get_or_load(key, memory.loader(15 * MiB))
    cache.invalidate("a")  # RSS 145; a is known to weigh 15 MiB
    cache.get_or_load("e", memory.loader(10 * MiB))  # 155: fits, nothing evicted
    seen = []
    cache.get_or_load("a", lambda: seen.append(memory.rss()) or memory.blob(15 * MiB))
    # room for 15 MiB under 160: RSS had to reach 145, so only b (LRU) went, not down to low water
    assert seen == [140 * MiB]
    assert [e["key"] for e in cache.entries()] == ["c", "d", "e", "a"]


def test_hysteresis_no_eviction_between_low_and_high(memory):
    cache = make(memory)
    for key in "abc":  # RSS 145 MiB: above low (120) but under high (160)
        cache.get_or_load(key, memory.loader(15 * MiB))
    cache.get_or_load("a", memory.loader(15 * MiB))
    assert len(cache) == 3 and cache.stats()["evictions"] == 0


def test_make_room_before_load_when_above_high_water(memory):
    cache = make(memory)
    for key in "abc":
        cache.get_or_load(key, memory.loader(15 * MiB))
    memory.other = 20 * MiB  # someone else grew RSS to 165 MiB
    seen_rss = []
    cache.get_or_load("d", lambda: seen_rss.append(memory.rss()) or memory.blob(MiB))
    # before loading d, evicted LRU entries until RSS <= 120 MiB: a, b, c all had to go
    assert seen_rss == [120 * MiB]
    assert [e["key"] for e in cache.entries()] == ["d"]


def test_records_reclaimed_bytes_per_eviction(memory):
    cache = make(memory)
    for key in "abcde":
        cache.get_or_load(key, memory.loader(15 * MiB))
    reclaims = [e for e in cache.events.since(0) if e.kind == "reclaim"]
    assert reclaims and all(e.bytes == 15 * MiB for e in reclaims)
    assert all("RSS given back" in e.detail for e in reclaims)


def test_keeps_hot_entries_when_the_memory_is_not_the_caches(memory):
    cache = make(memory)
    for key in "abcd":
        cache.get_or_load(key, memory.loader(5 * MiB))  # the cache holds 20 MiB
    memory.other = 70 * MiB  # RSS 190 MiB: even an empty cache would be above low water (120)
    cache.get_or_load("e", memory.loader(MiB))
    s = cache.stats()
    assert s["evictions"] == 0 and len(cache) == 5  # flushing would not have helped
    assert s["warnings_total"] == 1 and "not the cache's" in s["warnings"][-1]
    assert "21.0 MiB" in s["warnings"][-1] or "accounts for" in s["warnings"][-1]
    assert s["managed_bytes"] == 21 * MiB and s["unmanaged_bytes"] == memory.rss() - 21 * MiB
    cache.get_or_load("f", memory.loader(MiB))
    assert cache.stats()["warnings_total"] == 1  # warned once, not per miss


def test_does_not_flush_the_cache_for_a_value_that_cannot_fit(memory):
    cache = make(memory)
    for key in "ab":
        cache.get_or_load(key, memory.loader(20 * MiB))
    cache.get_or_load("huge", memory.loader(110 * MiB))  # 250 MiB: rejected, nobody else evicted
    assert "huge" not in cache and len(cache) == 2
    cache.get_or_load("huge", memory.loader(110 * MiB))  # known now: no flush before loading it
    assert [e["key"] for e in cache.entries()] == ["a", "b"] and cache.stats()["evictions"] == 0


def test_rejects_a_value_whose_load_alone_crosses_the_limit(memory):
    cache = make(memory)
    value = cache.get_or_load("huge", memory.loader(150 * MiB))  # 250 MiB > 200 MiB limit
    assert value.nbytes == 150 * MiB  # handed to the caller ...
    assert "huge" not in cache  # ... not kept
    s = cache.stats()
    assert s["rejections"] == 1 and s["admits"] == 0
    assert cache.events.since(0)[-1].kind == "reject"


def test_over_limit_load_evicts_others_and_is_admitted_if_it_then_fits(memory):
    cache = make(memory)
    for key in "ab":
        cache.get_or_load(key, memory.loader(30 * MiB))  # RSS 160
    cache.get_or_load("c", memory.loader(50 * MiB))  # RSS 210 > limit; evicting a and b -> 150
    assert [e["key"] for e in cache.entries()] == ["c"]
    assert cache.stats()["rejections"] == 0


def _count_trims(monkeypatch) -> list:
    import vizcache.cache_eviction
    import vizcache.cache_policy_calls

    calls = []
    for module in (vizcache.cache_eviction, vizcache.cache_policy_calls):  # eviction, and after a load
        monkeypatch.setattr(module, "trim_heap", lambda: calls.append(1) or True)
    return calls


def test_trims_the_heap_per_eviction_only_when_the_freed_memory_did_not_show(memory, monkeypatch):
    cache = make(memory)
    for key in "abcd":
        cache.get_or_load(key, memory.loader(35 * MiB))  # RSS 240 MiB > high water: batches of evictions
    trims = _count_trims(monkeypatch)
    evictions = cache.stats()["evictions"]
    cache.get_or_load("e", memory.loader(35 * MiB))
    batches = len(trims)
    assert cache.stats()["evictions"] > evictions  # it evicted, and the drop alone showed in RSS:
    assert batches == 2  # one trim before the batch, one after the load; none per eviction

    held = cache.get("b") or cache.get("c") or cache.get("d") or cache.get("e")  # someone else keeps a value alive
    assert held is not None
    trims.clear()
    for key in "fgh":
        cache.get_or_load(key, memory.loader(35 * MiB))
    reclaims = [e for e in cache.events.since(0) if e.kind == "reclaim" and e.bytes == 0]
    assert reclaims  # the eviction of the held value gave nothing back ...
    assert len(trims) > 2 * 3  # ... so that eviction trimmed the heap (and collected) to find out why


def test_release_time_is_counted_apart_from_the_policy_overhead(memory):
    cache = make(memory)
    for key in "abcdef":
        cache.get_or_load(key, memory.loader(35 * MiB))
    s = cache.stats()
    assert s["evictions"] >= 3
    assert s.release_seconds > 0
    assert s.overhead_seconds == pytest.approx(s.probe_seconds + s.sizing_seconds + s.reclaim_seconds)
