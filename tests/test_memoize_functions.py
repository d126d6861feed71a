"""One budget per process (#23): ``@vizcache.cached`` functions share one cache unless they ask for
a bound of their own, each with its own calls, hits, misses, entries and bytes, and a key index
so that its ``clear()``, ``cache_info()`` and forgetting never walk the other functions' keys."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import vizcache
from vizcache import AgeBased, Cache, RSSThresholdLRU
from vizcache.memoize import _function_name
from vizcache.memoize_functions import describe


def _functions(tag: str):
    calls = []

    def big(n):
        calls.append(n)
        return np.ones(n)  # touched pages: RSS grows by 8n bytes while it loads

    def small(x):
        calls.append(x)
        return x

    big.__qualname__, small.__qualname__ = f"big_{tag}", f"small_{tag}"  # records of their own per test
    return big, small, calls


def test_functions_with_only_a_memory_bound_share_one_cache():
    big, small, _ = _functions("share")
    f, g = vizcache.cached(big), vizcache.cached(small)
    assert f.cache is g.cache and type(f.cache.policy) is RSSThresholdLRU and f.cache.policy.limit == "auto"
    limited = vizcache.cached(lambda x: x, limit="6GiB")
    assert limited.cache is vizcache.cached(lambda y: y, limit="6GiB").cache and limited.cache is not f.cache
    counted = vizcache.cached(small, max_items=3)  # pn.cache's max_items counts this function's entries
    timed = vizcache.cached(small, ttl=60)
    assert len({id(f.cache), id(counted.cache), id(timed.cache)}) == 3
    mine = Cache(RSSThresholdLRU(limit="1TiB"))
    assert vizcache.cached(small, cache=mine).cache is mine


def test_per_function_calls_hits_misses_and_bytes():
    big, small, calls = _functions("stats")
    f, g = vizcache.cached(big), vizcache.cached(small)
    f(1_000_000), f(1_000_000), g(1), g(1), g(1), g(2)
    info_f, info_g = f.cache_info(), g.cache_info()
    assert (info_f.hits, info_f.misses, info_f.entries) == (1, 1, 1)
    assert (info_g.hits, info_g.misses, info_g.entries) == (2, 2, 2)
    sizes = {}
    for entry in f.cache.entries():  # the cache's own sizes (RSS growth around each load), by function
        sizes[entry["key"][0]] = sizes.get(entry["key"][0], 0) + entry["size_bytes"]
    assert (info_f.nbytes, info_g.nbytes) == (sizes[_function_name(big)], sizes[_function_name(small)])
    assert info_f.managed_bytes == info_g.managed_bytes == f.cache.managed_bytes()  # the shared cache's
    rows = {row["function"]: row for row in vizcache.cached_functions_stats(f.cache)}
    name_f = next(name for name in rows if name.startswith("big_stats "))
    assert name_f == f"big_stats (test_memoize_functions.py:{big.__code__.co_firstlineno})"
    row = rows[name_f]
    assert (row["calls"], row["hits"], row["misses"], row["entries"]) == (2, 1, 1, 1)
    assert row["bytes"] == info_f.nbytes and row["shared_cache"] and row["policy"] == "RSSThresholdLRU"
    assert list(rows).index(name_f) < list(rows).index(next(n for n in rows if n.startswith("small_stats ")))


def test_clear_and_cache_info_touch_only_the_functions_own_keys(monkeypatch):
    big, small, calls = _functions("index")
    f, g = vizcache.cached(big), vizcache.cached(small)
    for x in range(2000):
        g(x)
    f(5000), f(6000)

    def no_scan(self):
        raise AssertionError("iterated over every key of the shared cache")

    monkeypatch.setattr(Cache, "__iter__", no_scan)
    assert f.cache_info().entries == 2
    f.clear()
    assert f.cache_info().entries == 0 and g.cache_info().entries == 2000
    f(5000)
    assert calls.count(5000) == 2  # cleared: it ran again


def test_an_evicted_key_leaves_the_index():
    _, small, calls = _functions("prune")
    f = vizcache.cached(small, max_items=2, limit=None)
    for x in range(500):
        f(x)
    assert f.cache_info().entries == 2
    assert f(499) == 499 and f(0) == 0 and calls.count(0) == 2  # 0 was evicted, 499 was kept
    rows = [r for r in vizcache.cached_functions_stats(f.cache)]
    assert [(r["entries"], r["misses"], r["hits"]) for r in rows] == [(2, 501, 1)]


def test_an_instance_that_goes_takes_only_its_keys():
    class Model:
        @vizcache.cached
        def value(self, x):
            return x

    a, b = Model(), Model()
    a.value(1), a.value(2), b.value(1)
    assert Model.value.cache_info().entries == 3
    del a
    gc.collect()
    assert Model.value.cache_info().entries == 1


@pytest.mark.parametrize("name, shown", [
    ("/srv/app/load.py:load:12:(13, 4)", "load (load.py:12)"),
    ("/srv/app/load.py:make.<locals>.Model.view:40:(41, 8)", "Model.view (load.py:40)"),
    ("mymodule:Thing.method", "mymodule:Thing.method"),
])
def test_functions_are_named_by_qualname_and_place(name, shown):
    assert describe(name) == shown


def test_a_caches_stats_list_the_functions_that_use_it_and_only_those():
    mine, other = Cache(AgeBased()), Cache(AgeBased())

    @vizcache.cached(cache=mine)
    def double(x):
        return x * 2

    @vizcache.cached(cache=mine)
    def triple(x):
        return x * 3

    @vizcache.cached(cache=other)
    def elsewhere(x):
        return x

    double(1), double(1), double(2), triple(1), elsewhere(5)
    rows = {row["function"].split(" ")[0]: row for row in mine.stats()["functions"]}
    assert set(rows) == {"double", "triple"}
    assert (rows["double"]["calls"], rows["double"]["hits"], rows["double"]["misses"], rows["double"]["entries"]) == (3, 1, 2, 2)
    assert (rows["triple"]["calls"], rows["triple"]["misses"]) == (1, 1)
    assert [row["function"].split(" ")[0] for row in other.stats()["functions"]] == ["elsewhere"]
    assert Cache(AgeBased()).stats()["functions"] == []  # a cache no decorated function uses
