"""Many threads on one cache: single flight holds, nothing is lost, hits never wait on loads."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from vizcache import AgeBased, Cache, RSSThresholdLRU

from .waiting import wait_until


def test_concurrent_misses_on_one_key_load_once():
    cache = Cache(RSSThresholdLRU(limit="1TiB"))
    calls = []
    gate = threading.Event()

    def loader():
        calls.append(1)
        gate.wait(60)  # opened once every caller waits on this load
        return object()

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(cache.get_or_load, "k", loader) for _ in range(16)]
        wait_until(lambda: cache.stats()["coalesced"] == 15, message="15 callers waiting on the one in-flight load")
        gate.set()
        results = [f.result(timeout=10) for f in futures]
    assert len(calls) == 1
    assert all(r is results[0] for r in results)
    s = cache.stats()
    assert s["loads"] == 1 and s["misses"] == 16 and s["coalesced"] == 15 and s["hits"] == 0


def test_failed_load_reraises_to_every_waiter():
    cache = Cache(RSSThresholdLRU(limit="1TiB"))
    gate = threading.Event()

    def loader():
        gate.wait(60)  # opened once every caller waits on this load
        raise ValueError("corrupt catalog")

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.get_or_load, "k", loader) for _ in range(8)]
        wait_until(lambda: cache.stats()["coalesced"] == 7, message="7 callers waiting on the failing load")
        gate.set()
        errors = [f.exception(timeout=10) for f in futures]
    assert all(isinstance(e, ValueError) and "corrupt catalog" in str(e) for e in errors)
    assert "k" not in cache and cache.stats()["loads"] == 1


def test_hits_on_other_keys_do_not_wait_for_a_slow_load():
    cache = Cache(RSSThresholdLRU(limit="1TiB"))
    cache.get_or_load("fast", lambda: "value")
    gate, loading = threading.Event(), threading.Event()
    slow = threading.Thread(target=cache.get_or_load, args=("slow", lambda: loading.set() or (gate.wait(120) and "slow")))
    slow.start()
    hits = []
    try:
        assert loading.wait(30)
        # the slow load holds until the gate opens: hits that waited on it could never finish
        hitter = threading.Thread(target=lambda: hits.extend(cache.get_or_load("fast", lambda: "reloaded") for _ in range(1000)))
        hitter.start()
        wait_until(lambda: not hitter.is_alive(), message="1000 hits while the slow load runs", timeout=60)
        assert hits == ["value"] * 1000 and slow.is_alive() and not gate.is_set()
    finally:
        gate.set()
        slow.join()


@pytest.mark.parametrize("policy", [lambda: RSSThresholdLRU(limit="1TiB"), lambda: AgeBased(max_entries=5)])
def test_many_threads_many_keys_nothing_lost(policy):
    cache = Cache(policy())
    loads = {}
    lock = threading.Lock()

    def loader(key):
        def load():
            with lock:
                loads[key] = loads.get(key, 0) + 1
            time.sleep(0.001)  # a load that takes a while, so threads overlap on it
            return ("value", key)
        return load

    def worker(seed):
        out = []
        for i in range(200):
            key = (seed * 7 + i) % 12
            out.append((key, cache.get_or_load(key, loader(key))))
        return out

    with ThreadPoolExecutor(8) as pool:
        results = [r for f in [pool.submit(worker, s) for s in range(8)] for r in f.result()]
    assert all(value == ("value", key) for key, value in results)  # nobody got another key's value
    s = cache.stats()
    assert s["requests"] == 1600 == s["hits"] + s["misses"]
    assert s["loads"] == sum(loads.values()) == s["admits"] + s["rejections"]
    assert len(cache) == len(cache.entries())
