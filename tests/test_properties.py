"""Random operation sequences keep the cache's invariants (hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vizcache import AgeBased, Cache, RSSThresholdLRU, SizeEstimatedLRU

from .conftest import FakeClock, FakeMemory, MiB

ops = st.lists(
    st.one_of(
        st.tuples(st.just("get"), st.integers(0, 7), st.integers(1, 60)),  # key, MiB
        st.tuples(st.just("fail"), st.integers(0, 7), st.just(0)),
        st.tuples(st.just("tick"), st.integers(0, 30), st.just(0)),
        st.tuples(st.just("invalidate"), st.integers(0, 7), st.just(0)),
        st.tuples(st.just("sweep"), st.just(0), st.just(0)),
        st.tuples(st.just("other"), st.integers(0, 80), st.just(0)),  # memory not the cache's
    ),
    max_size=60,
)
policies = st.sampled_from(["rss", "age", "size"])


def build(kind, memory, clock):
    policy = {
        "rss": lambda: RSSThresholdLRU(limit=250 * MiB, high_water=0.8, low_water=0.6),
        "age": lambda: AgeBased(max_age=40, max_idle=15, max_entries=4),
        "size": lambda: SizeEstimatedLRU(estimator="nbytes", budget=100 * MiB),
    }[kind]()
    return Cache(policy, rss_probe=memory.rss, clock=clock)


def payload(memory, mib):
    # Fake RSS sees the blob; the nbytes estimator sees the (untouched, so free) array.
    return {"blob": memory.blob(mib * MiB), "array": np.zeros(mib * MiB // 8)}


@settings(max_examples=150, deadline=None)
@given(kind=policies, operations=ops)
def test_invariants_hold_for_any_sequence(kind, operations):
    memory, clock = FakeMemory(), FakeClock()
    cache = build(kind, memory, clock)
    requests = 0
    for op, key, arg in operations:
        if op == "get":
            requests += 1
            value = cache.get_or_load(key, lambda m=arg: payload(memory, m))
            assert value["array"].nbytes == arg * MiB or key in cache  # a hit returns the cached one
            entries = cache.entries()
            if key in cache:  # just admitted or hit: it must be the most recently used
                assert entries[-1]["key"] == key
        elif op == "fail":
            requests += 1
            before = [e["key"] for e in cache.entries()]
            try:
                cache.get_or_load(("failing", key), lambda: 1 / 0)
            except ZeroDivisionError:
                pass
            else:
                raise AssertionError("loader error was swallowed")
            after = [e["key"] for e in cache.entries()]
            assert ("failing", key) not in cache
            assert set(after) <= set(before)  # only make_room evictions, never additions
        elif op == "tick":
            clock.advance(arg)
        elif op == "invalidate":
            cache.invalidate(key)
            assert key not in cache
        elif op == "sweep":
            cache.sweep()
        elif op == "other":
            memory.other = arg * MiB
        s = cache.stats()
        assert s["hits"] + s["misses"] == s["requests"] == requests
        assert s["misses"] == s["loads"] + s["coalesced"]
        assert s["loads"] == s["admits"] + s["rejections"] + s["load_failures"]
        assert s["entries"] == len(cache) == len(cache.entries())
        assert len({e["key"] for e in cache.entries()}) == len(cache)
        assert s["entries"] <= s["admits"]
        if kind == "age":
            assert len(cache) <= 4
        if kind == "size":
            assert s["estimated_bytes"] <= 100 * MiB
