"""The API users of pn.cache, cachetools and Caffeine expect: mapping access, removal listener,
composable bounds and expiry, eviction orders, weighers, plugin hooks, and @cached."""

import logging
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vizcache import Cache, CachePolicy, RSSThresholdLRU, SizeEstimatedLRU, Sized, cached

from .conftest import MiB
from .ports import free_port, wait_for_port


def roomy(**params):
    return RSSThresholdLRU(limit="1TiB", **params)


# -- mapping-style access ------------------------------------------------------------------

def test_get_put_pop_and_iteration(clock):
    cache = Cache(roomy(max_age=10), clock=clock)
    assert cache.get("a") is None and cache.get("a", 0) == 0  # never loads
    assert cache.put("a", [1], size=8) is True
    assert cache.get("a") == [1] and list(cache) == ["a"]
    assert cache.entries()[0]["reported_bytes"] == 8 and cache.expected_bytes("a") == 8
    assert cache.pop("a") == [1] and "a" not in cache
    assert cache.pop("a", "gone") == "gone"
    with pytest.raises(KeyError):
        cache.pop("a")
    cache.put("b", 2)
    clock.advance(11)  # expired: invisible everywhere
    assert cache.get("b") is None and "b" not in cache and len(cache) == 0 and list(cache) == []
    with pytest.raises(KeyError):
        cache.pop("b")
    with pytest.raises(ValueError, match="whole number of bytes"):
        cache.put("c", 3, size=-1)
    c = cache.counters()
    assert c["puts"] == 2 and c["hits"] == 1 and c["misses"] == 0  # a get that finds nothing is no request


def test_put_goes_through_the_policy():
    cache = Cache(SizeEstimatedLRU(budget="1KiB", estimator="nbytes"))
    assert cache.put("big", np.zeros(1000)) is False and "big" not in cache  # 8000 B > budget
    assert cache.put("small", np.zeros(10)) is True


# -- removal listener ----------------------------------------------------------------------

def test_removal_listener_gets_every_cause_outside_the_lock(memory, clock):
    seen = []

    def listener(key, value, cause):
        seen.append((key, cause))
        cache.get("probe")  # takes the cache's lock: would deadlock if called under it

    cache = Cache(RSSThresholdLRU(limit=200 * MiB, high_water=0.8, low_water=0.6, max_idle=100),
                  rss_probe=memory.rss, clock=clock, on_removal=listener)
    cache.get_or_load("a", memory.loader(MiB))
    cache.put("a", memory.blob(MiB))  # replaced
    cache.invalidate("a")  # invalidated
    cache.get_or_load("b", memory.loader(MiB))
    clock.advance(101)
    cache.get_or_load("b", memory.loader(MiB))  # expired, then reloaded
    cache.get_or_load("huge", memory.loader(150 * MiB))  # rejected
    for key in "cdef":
        cache.get_or_load(key, memory.loader(15 * MiB))  # evicted
    causes = {cause for _, cause in seen}
    assert causes == {"replaced", "invalidated", "expired", "rejected", "evicted"}
    assert ("a", "replaced") in seen and ("huge", "rejected") in seen


def test_a_failing_listener_is_logged_and_never_breaks_the_cache(caplog):
    def listener(key, value, cause):
        raise RuntimeError("listener bug")

    cache = Cache(roomy(), on_removal=listener)
    cache.get_or_load("a", lambda: 1)
    with caplog.at_level(logging.ERROR):
        assert cache.invalidate("a")
    assert "removal listener failed" in caplog.text
    assert cache.get_or_load("a", lambda: 2) == 2


# -- composable bounds and expiry ----------------------------------------------------------

def test_rss_limit_plus_idle_expiry_plus_max_entries(memory, clock):
    cache = Cache(RSSThresholdLRU(limit="1TiB", max_idle=60, max_entries=2), rss_probe=memory.rss, clock=clock)
    for key in "abc":
        cache.get_or_load(key, memory.loader(MiB))
    assert list(cache) == ["b", "c"]  # max_entries
    clock.advance(30)
    cache.get_or_load("c", memory.loader(MiB))
    clock.advance(31)  # b idle 61 s, c idle 31 s
    assert list(cache) == ["c"] and cache.sweep() == 1


def test_setting_an_expiry_later_turns_the_hit_check_on(clock):
    policy = roomy()
    cache = Cache(policy, clock=clock)
    cache.get_or_load("a", lambda: 1)
    policy.max_age = 5
    clock.advance(6)
    assert cache.get_or_load("a", lambda: 2) == 2


# -- eviction orders -----------------------------------------------------------------------

def hit_ratio(order: str, requests: list[str], capacity: int) -> float:
    cache = Cache(SizeEstimatedLRU(estimator=lambda v: 1024, budget=capacity * 1024, order=order))
    for key in requests:
        cache.get_or_load(key, lambda: key)
    return cache.stats()["hit_ratio"]


def test_s3fifo_keeps_the_hot_set_through_a_scan_where_lru_loses_it():
    hot = [f"hot{i}" for i in range(8)]
    requests = hot * 20 + [f"scan{i}" for i in range(30)] + hot * 20
    lru, s3 = hit_ratio("lru", requests, 10), hit_ratio("s3fifo", requests, 10)
    assert s3 > lru
    assert s3 >= (len(requests) - 8 - 30) / len(requests) - 0.01  # only cold misses


def test_s3fifo_lets_a_new_hot_set_in():
    old, new = [f"old{i}" for i in range(8)], [f"new{i}" for i in range(8)]
    cache = Cache(SizeEstimatedLRU(estimator=lambda v: 1024, budget=10 * 1024, order="s3fifo"))
    for key in old * 20 + new * 20:
        cache.get_or_load(key, lambda: key)
    assert set(new) <= set(cache)


@settings(max_examples=60, deadline=None)
@given(order=st.sampled_from(["lru", "s3fifo", "sieve"]), budget=st.integers(1, 12),
       requests=st.lists(st.tuples(st.integers(0, 15), st.integers(1, 4)), min_size=1, max_size=120))
def test_any_order_keeps_the_budget_and_its_queues_match_the_cache(order, budget, requests):
    cache = Cache(SizeEstimatedLRU(estimator=lambda v: v[1] * 1024, budget=budget * 1024, order=order))
    for key, size in requests:
        value = cache.get_or_load(key, lambda: (key, size))
        assert value[0] == key
        live = cache.entry_objects()
        assert sum(e.estimated_bytes for e in live) <= budget * 1024
        assert sorted(e.key for e in live) == sorted(cache)  # the order tracks exactly the entries
        assert len({e.key for e in live}) == len(live)


def test_plugin_hooks_see_hits_and_removals():
    class Counting(CachePolicy):
        def __init__(self, **params):
            super().__init__(**params)
            self.hits, self.removed = [], []

        def on_hit(self, entry):
            self.hits.append(entry.key)

        def on_remove(self, entry, cause):
            self.removed.append((entry.key, cause))

    policy = Counting()
    cache = Cache(policy)
    cache.get_or_load("a", lambda: 1)
    cache.get_or_load("a", lambda: 1)
    cache.invalidate("a")
    assert policy.hits == ["a"] and policy.removed == [("a", "invalidated")]


# -- weighers --------------------------------------------------------------------------------

def test_weigher_callable_dotted_name_and_reported_size(tmp_path):
    from vizcache import policy_from_config

    config = tmp_path / "p.toml"
    config.write_text('[policy]\nname = "SizeEstimatedLRU"\nestimator = "builtins:len"\nbudget = 4096\n')
    policy = policy_from_config(config)
    cache = Cache(policy)
    cache.get_or_load("a", lambda: "x" * 100)
    cache.get_or_load("b", lambda: Sized("y" * 100, nbytes=3000))  # the loader's size wins
    assert {e["key"]: e["estimated_bytes"] for e in cache.entries()} == {"a": 100, "b": 3000}
    config.write_text('[policy]\nname = "SizeEstimatedLRU"\nestimator = "nowhere:len"\n')
    with pytest.raises(Exception, match="estimator = 'nowhere:len' is not allowed.*package.module:function"):
        policy_from_config(config)


# -- @cached -----------------------------------------------------------------------------------

def test_cached_hashes_arguments_by_content_and_loads_once(tmp_path):
    calls = []

    @cached(policy=roomy())
    def total(frame: pd.DataFrame, scale=1):
        calls.append(1)
        return float(frame.x.sum()) * scale

    a = pd.DataFrame({"x": [1.0, 2.0]})
    assert total(a) == 3.0 and total(a.copy()) == 3.0  # same content: one call
    assert total(a, scale=2) == 6.0 and len(calls) == 2
    info = total.cache_info()
    assert (info.hits, info.misses, info.entries) == (1, 2, 2)
    total.cache_clear()
    assert total.cache_info().entries == 0
    with pytest.raises(TypeError, match="not both"):
        cached(lambda: 1, cache=Cache(), policy=roomy())


def test_cached_takes_a_toml_policy_and_single_flights(tmp_path):
    config = tmp_path / "p.toml"
    config.write_text('[policy]\nname = "AgeBased"\nmax_age = 60\n')
    gate, calls = threading.Event(), []

    @cached(policy=config)
    def slow(x):
        calls.append(x)
        gate.wait(5)
        return x * 2

    assert type(slow.cache.policy).__name__ == "AgeBased"
    threads = [threading.Thread(target=slow, args=(21,)) for _ in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert calls == [21] and slow(21) == 42


def test_the_example_panel_app_serves_sessions_from_one_cache():
    import panel  # noqa: F401 - registers Panel's Bokeh models, so the pulled document can be read
    from bokeh.client import pull_session

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "panel", "serve", "apps/cached_example.py", "--port", str(port),
                             "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=120)
        texts = []
        for _ in range(2):
            with pull_session(url=f"http://127.0.0.1:{port}/cached_example") as session:
                texts += [m.text for m in session.document.select({"type": _markdown_type()})
                          if "Calls that hit" in str(getattr(m, "text", ""))]
        assert len(texts) == 2
        assert "Calls that hit: 0; that loaded: 1" in texts[0]
        assert "Calls that hit: 1; that loaded: 1" in texts[1]  # the second session hit the first's cache
    finally:
        proc.terminate()
        proc.wait(30)


def _markdown_type():
    from panel.models.markup import HTML

    return HTML


def test_per_session_keys_keep_sessions_apart():
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    calls = []

    @cached(policy=roomy(), per_session=True)
    def view(x):
        calls.append(x)
        return x

    first, second = Document(), Document()
    with set_curdoc(first):
        view(1), view(1)
    with set_curdoc(second):
        view(1)
    assert calls == [1, 1] and view.cache_info().entries == 2


def test_stats_is_a_typed_snapshot_a_plugin_cannot_overwrite():
    class Liar(RSSThresholdLRU):
        def policy_stats(self, cache):
            return {**super().policy_stats(cache), "hits": 10**9}

    cache = Cache(Liar(limit="2GiB"))
    cache.get_or_load("a", lambda: 1)
    cache.get_or_load("a", lambda: 1)
    s = cache.stats()
    assert s.hits == 1 and s["hits"] == 1  # the cache's figure, whatever the policy says
    assert s.policy_stats["hits"] == 10**9 and s["limit_bytes"] == 2**31 == s.policy_stats["limit_bytes"]
    assert s.requests == 2 and s.hit_ratio == 0.5 and s.entries == 1
    assert dict(s)["high_water_bytes"] == int(0.8 * 2**31) and "policy_stats" not in dict(s)


def test_our_s3fifo_agrees_with_libcachesim_on_a_zipf_trace():
    from vizcache.compare.reference import replay

    rng = np.random.default_rng(3)
    sizes = {k: int(rng.integers(1, 5)) * MiB for k in range(200)}
    popularity = 1 / np.arange(1, 201) ** 0.9
    keys = rng.choice(200, size=20_000, p=popularity / popularity.sum()).tolist()
    for share in (0.1, 0.2, 0.3, 0.5):
        budget = int(sum(sizes.values()) * share)
        cache = Cache(SizeEstimatedLRU(estimator=lambda v: v[1], budget=budget, order="s3fifo"))
        for key in keys:
            cache.get_or_load(key, lambda: (key, sizes[key]))
        reference = replay("S3FIFO", keys, sizes, budget)["hit_ratio"]
        # Only the warm-up differs (libCacheSim fills main directly once small is full).
        assert abs(cache.stats().hit_ratio - reference) < 0.01, (share, cache.stats().hit_ratio, reference)


def test_a_replaced_policy_no_longer_drives_the_cache(clock):
    first = roomy()
    cache = Cache(first, clock=clock)
    cache.get_or_load("a", lambda: 1)
    cache.policy = roomy()
    first.max_age = 5  # the detached policy's change must not reach this cache
    clock.advance(6)
    assert cache.get_or_load("a", lambda: 2) == 1


def test_our_s3fifo_agrees_with_libcachesim_on_the_recorded_pan_zoom_trace():
    from pathlib import Path

    from vizcache import read_trace
    from vizcache.compare.reference import replay
    from vizcache.trace import request_size

    rows = read_trace(Path(__file__).parents[1] / "benchmarks" / "traces" / "hats_large_pan_zoom.jsonl")
    sizes = {}
    for row in rows:
        sizes.setdefault(row["key"], request_size(row))
    keys = [row["key"] for row in rows]
    assert None not in sizes.values() and len(sizes) > 200
    working_set = sum(sizes.values())
    # At budgets where every partition is under a tenth of the cache: libCacheSim refuses to
    # cache larger objects at all, which we never do, so smaller budgets are not comparable.
    for share in (0.3, 0.5):
        budget = int(working_set * share)
        assert max(sizes.values()) < 0.1 * budget
        cache = Cache(SizeEstimatedLRU(estimator=lambda v: v[1], budget=budget, order="s3fifo"))
        for key in keys:
            cache.get_or_load(key, lambda: (key, sizes[key]))
        reference = replay("S3FIFO", keys, sizes, budget)["hit_ratio"]
        assert abs(cache.stats().hit_ratio - reference) < 0.02, (share, cache.stats().hit_ratio, reference)
