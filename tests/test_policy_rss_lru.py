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


def test_auto_limit_comes_from_cgroup_or_ram():
    p = RSSThresholdLRU()
    assert p.limit == "auto" and p.limit_bytes > 0
    assert p.limit_source in ("cgroup memory limit", "50% of physical RAM")


def test_low_water_must_be_below_high_water():
    with pytest.raises(ValueError, match="low_water"):
        RSSThresholdLRU(limit="1GiB", high_water=0.5, low_water=0.6)


def test_evicts_least_recently_used_first_down_to_low_water(memory):
    cache = make(memory, low=0.7)  # low water 140 MiB
    for key in "abcd":  # 4 x 15 MiB: RSS 160 MiB, at (not above) high water
        cache.get_or_load(key, memory.loader(15 * MiB))
    cache.get_or_load("a", memory.loader(15 * MiB))  # touch a: b is now least recent
    assert len(cache) == 4
    cache.get_or_load("e", memory.loader(15 * MiB))  # 175 MiB > high: evict b, c, d -> 130 <= 140
    assert [e["key"] for e in cache.entries()] == ["a", "e"]
    assert memory.rss() == 130 * MiB
    s = cache.stats()
    assert s["evictions"] == 3 and s["bytes_reclaimed"] == 45 * MiB


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
    evictions = [e for e in cache.events.since(0) if e.kind == "evict"]
    assert evictions and all(e.bytes == 15 * MiB for e in evictions)
    assert all("RSS given back" in e.detail for e in evictions)


def test_warns_when_memory_is_not_the_caches(memory):
    cache = make(memory)
    cache.get_or_load("a", memory.loader(5 * MiB))
    memory.other = 80 * MiB  # RSS 185 MiB of which the cache holds 5
    cache.get_or_load("b", memory.loader(MiB))
    s = cache.stats()
    assert s["warnings_total"] >= 1 and "not the cache's" in s["warnings"][-1]
    assert "a" not in cache  # it tried: evicted everything it had


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
