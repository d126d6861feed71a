"""``vizcache.cached`` with ``pn.cache``'s arguments (#23): bare and called forms, ``max_items`` with
each eviction order in O(1), ``ttl``, ``.clear()``, ``policy`` names vs config paths, and one clear
error for arguments that do not fit together."""

from __future__ import annotations

import sys

import pytest

import vizcache
from vizcache.memoize_policy import CountBounded, CountBoundedRSS
from vizcache.policies import RSSThresholdLRU

from .waiting import wait_until


def _recorder():
    calls = []

    def record(x):
        calls.append(x)
        return x

    return record, calls


def test_bare_and_called_forms_both_cache():
    @vizcache.cached
    def bare(x):
        return [x]

    @vizcache.cached()
    def called(x):
        return [x]

    assert bare(1) is bare(1) and called(1) is called(1)
    assert bare.cache_info().hits == called.cache_info().hits == 1


@pytest.mark.parametrize(("policy", "calls", "kept"), [
    ("FIFO", [0, 1, 0, 2], [1, 2]),        # the first stored goes, though it was just hit
    ("LRU", [0, 1, 0, 2], [0, 2]),         # the least recently used goes
    ("LFU", [0, 0, 1, 1, 1, 2], [1, 2]),   # the least often hit goes
    ("lfu", [0, 0, 1, 2], [0, 2]),         # pn.cache takes the names in any case
])
def test_max_items_evicts_in_the_policys_order(policy, calls, kept):
    record, loads = _recorder()
    record.__qualname__ += policy  # a function of its own: "LFU" and "lfu" would share one cache
    f = vizcache.cached(record, max_items=2, policy=policy, limit=None)
    for x in calls:
        f(x)
    assert sorted(k[1] for k in f.cache) == kept  # keys are (function, x)
    assert f.cache_info().entries == 2


def test_policy_names_are_orders_not_config_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "LRU").write_text("not a config")  # a file of that name must not be read
    f = vizcache.cached(lambda x: x, policy="LRU", max_items=3)
    assert isinstance(f.cache.policy, CountBoundedRSS) and f.cache.policy.eviction == "LRU"
    with pytest.raises(ValueError, match=r"policy='LRUU'\) is not allowed: use 'LRU', 'LFU' or 'FIFO'"):
        vizcache.cached(lambda x: x, policy="LRUU")


def test_the_memory_bound_is_on_unless_turned_off():
    default = vizcache.cached(lambda x: x)
    assert type(default.cache.policy) is RSSThresholdLRU and default.cache.policy.limit == "auto"
    counted = vizcache.cached(lambda x: x, max_items=5)
    assert isinstance(counted.cache.policy, RSSThresholdLRU) and counted.cache.policy.max_items == 5
    plain = vizcache.cached(lambda x: x, max_items=5, limit=None)  # exactly pn.cache: a count, no memory bound
    assert type(plain.cache.policy) is CountBounded
    budgeted = vizcache.cached(lambda x: x, budget="64MiB", max_items=5, policy="FIFO")
    assert budgeted.cache.policy.budget_bytes == 64 * 2**20 and budgeted.cache.policy.eviction == "FIFO"


def test_ttl_expires_entries():
    record, loads = _recorder()
    f = vizcache.cached(record, ttl=0.05)
    f(1)
    f(1)
    # the entry ages past its ttl in real time: the cache's clock is monotonic time, with no hook to advance it from here
    wait_until(lambda: f.cache_info().entries == 0, timeout=5, interval=0.01, message="the entry expired")
    f(1)
    assert loads == [1, 1]


def test_clear_and_cache_clear_forget_this_functions_results_only():
    shared = vizcache.Cache(vizcache.AgeBased())
    first, second = vizcache.cached(lambda x: [x], cache=shared), vizcache.cached(lambda x: (x,), cache=shared)
    first(1), second(1)
    first.clear()
    assert first.cache_info().entries == 0 and second.cache_info().entries == 1
    assert first.cache_clear == first.clear


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cache": vizcache.Cache(), "max_items": 3}, "a cache or max_items, not both"),
    ({"policy": vizcache.AgeBased(), "ttl": 5}, r"set ttl=5 on the policy"),
    ({"budget": "1GiB", "limit": "2GiB"}, "a memory limit .* or a budget .*, not both"),
    ({"max_items": 0}, r"cached\(\): .*max_items"),
    ({"max_items": True}, r"max_items=True\) is not allowed"),
    ({"ttl": "soon"}, r"ttl='soon'\) is not allowed"),
    ({"to_disk": True, "disk_limit": "lots"}, r"disk_limit='lots'\) is not allowed"),
])
def test_arguments_that_do_not_fit_get_one_clear_error(kwargs, message, tmp_path):
    with pytest.raises((TypeError, ValueError), match=message) as raised:
        vizcache.cached(lambda x: x, cache_path=tmp_path, **kwargs)
    assert "\n" not in str(raised.value)


def test_eviction_work_does_not_grow_with_the_number_of_entries():
    """pn.cache sorts every entry on each eviction; here an eviction touches a queue's head.
    Counted, not timed: the Python and C calls made per evicting call, with 100 and 20,000 entries."""
    def calls_per_eviction(size: int, policy: str) -> float:
        f = vizcache.cached(lambda x: x, max_items=size, policy=policy, limit=None)
        f.__qualname__ = f"{policy}{size}"
        for x in range(size):
            f(x)
        calls = []
        sys.setprofile(lambda frame, event, arg: event in ("call", "c_call") and calls.append(1))
        try:
            for x in range(size, size + 2000):
                f(x)  # each call evicts one
        finally:
            sys.setprofile(None)
        assert f.cache_info().entries == size
        return len(calls) / 2000

    for policy in ("LFU", "LRU", "FIFO"):
        small, large = calls_per_eviction(100, policy), calls_per_eviction(20_000, policy)
        assert large < small + 10, (policy, small, large)  # a sort or a scan per eviction would add ~20,000


def test_panels_clear_caches_clears_these_functions_too():
    from panel.io.state import state

    record, loads = _recorder()
    record.__qualname__ += "panel_clear"
    f = vizcache.cached(record)
    f(1)
    state.clear_caches()
    f(1)
    assert loads == [1, 1]


def test_a_sessions_entries_go_when_it_ends():
    from unittest import mock

    from bokeh.document import Document
    from panel.io.state import set_curdoc

    record, loads = _recorder()
    record.__qualname__ += "session_end"
    f = vizcache.cached(record, per_session=True)
    doc = Document()
    doc._session_context = lambda: mock.Mock()  # as a served session's document (Panel's own fixture does this)
    with set_curdoc(doc):
        f(1), f(2)
    assert f.cache_info().entries == 2
    for callback in list(doc.session_destroyed_callbacks):
        callback(mock.Mock())  # what Bokeh's server does when the session ends
    assert f.cache_info().entries == 0
