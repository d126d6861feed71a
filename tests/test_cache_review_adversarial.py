"""Adversarial checks of the cache core after #20: subclasses, references kept across policy
changes, re-entrant listeners, policy swaps under load, interrupted loads while others wait or pause.

Every wait here has a timeout, so a deadlock fails the test instead of hanging the suite.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from vizcache import AgeBased, Cache, RSSThresholdLRU, Sized, SizeEstimatedLRU

from .test_cache_room import ENTRY, SharedMemory
from .waiting import wait_until

TIMEOUT = 10


def _run_in_threads(*targets) -> list[threading.Thread]:
    """Start each target in a daemon thread (one stuck in a deadlock must not keep pytest alive)."""
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    return threads


def _all_finished(threads: list[threading.Thread], timeout: float = TIMEOUT) -> bool:
    for t in threads:
        t.join(timeout)
    return not any(t.is_alive() for t in threads)


# -- subclasses ---------------------------------------------------------------------------------


class CountingCache(Cache):
    """A subclass that wraps the main path, as a user adding logging or metrics would."""

    def __init__(self, *args, **kwargs) -> None:
        self.calls = 0
        super().__init__(*args, **kwargs)

    def get_or_load(self, key, loader, *, expected_bytes=None):
        self.calls += 1
        return super().get_or_load(key, loader, expected_bytes=expected_bytes)


def test_a_subclass_override_of_get_or_load_is_called_before_and_after_a_policy_swap():
    cache = CountingCache(AgeBased(max_age=60))
    assert cache.get_or_load("a", lambda: 1) == 1
    assert cache.get_or_load("a", lambda: 2) == 1
    cache.policy = SizeEstimatedLRU(budget="1MiB")
    cache.policy.max_age = 5  # rewires through the expiry watcher too
    assert cache.get_or_load("a", lambda: 3) == 1
    assert cache.calls == 3
    assert cache.stats()["hits"] == 2 and cache.stats()["misses"] == 1


# -- a reference to get_or_load taken before the policy changes ------------------------------------


def test_a_get_or_load_reference_taken_before_expiry_is_set_does_not_serve_expired_values(clock):
    policy = AgeBased()
    cache = Cache(policy, clock=clock)
    load = cache.get_or_load  # a callback handed to a widget, a partial, ...
    assert load("a", lambda: "old") == "old"
    policy.max_age = 5
    clock.advance(6)
    assert load("a", lambda: "new") == "new"
    cache.policy = AgeBased(max_age=1)
    clock.advance(2)
    assert load("a", lambda: "newer") == "newer"


# -- interrupted loads, while others wait on them or pause for room ----------------------------------


def test_a_keyboard_interrupt_in_a_loader_releases_its_waiters_and_the_paused_loads():
    memory = SharedMemory(base=0)
    cache = Cache(RSSThresholdLRU(limit=4 * ENTRY, max_loading=0.25, max_pause=60), rss_probe=memory)
    started, release = threading.Event(), threading.Event()

    def interrupted():
        started.set()
        release.wait(TIMEOUT)
        raise KeyboardInterrupt

    outcomes: dict[str, object] = {}

    def lead():
        try:
            cache.get_or_load("big", interrupted, expected_bytes=ENTRY)
        except KeyboardInterrupt:
            outcomes["lead"] = "interrupted"

    def wait_on_it():
        started.wait(TIMEOUT)
        try:
            cache.get_or_load("big", lambda: "never")
        except KeyboardInterrupt:
            outcomes["waiter"] = "interrupted"

    def paused():
        started.wait(TIMEOUT)
        outcomes["paused"] = cache.get_or_load("other", memory.io_like_loader(ENTRY), expected_bytes=ENTRY)

    threads = _run_in_threads(lead, wait_on_it, paused)
    started.wait(TIMEOUT)
    # 'other' pauses: 'big' holds the whole max_loading share of the limit.
    wait_until(lambda: cache._pausing and cache._waiting, timeout=TIMEOUT, interval=0.005, message="a paused load and a waiter")
    release.set()
    assert _all_finished(threads)
    assert outcomes["lead"] == outcomes["waiter"] == "interrupted" and len(outcomes["paused"]) == 4
    c = cache.counters()
    assert c["load_failures"] == 1 and c["misses"] == c["loads"] + c["coalesced"]
    assert c["loads"] == c["admits"] + c["rejections"] + c["load_failures"]
    assert cache.get_or_load("big", lambda: "again") == "again"


def test_clear_and_invalidate_while_loads_pause_keep_nothing_of_theirs_and_hang_nobody():
    memory = SharedMemory(base=0)
    cache = Cache(RSSThresholdLRU(limit=8 * ENTRY, max_loading=0.25, max_pause=60), rss_probe=memory)
    release = threading.Event()

    def slow():
        release.wait(TIMEOUT)
        return memory.chunk(ENTRY)

    with ThreadPoolExecutor(6) as pool:
        first = [pool.submit(cache.get_or_load, f"run{i}", slow, expected_bytes=ENTRY) for i in range(2)]
        paused = [pool.submit(cache.get_or_load, f"paused{i}", slow, expected_bytes=ENTRY) for i in range(4)]
        # Two loads run and hold the max_loading share; the four others pause for room.
        wait_until(lambda: len(cache._inflight) == 6 and len(cache._pausing) == 4, timeout=TIMEOUT, interval=0.005,
                   message="6 loads in flight, 4 of them paused")
        assert cache.invalidate("paused0").in_flight == 1
        assert cache.clear().in_flight == 6
        release.set()
        assert all(f.result(timeout=TIMEOUT) is not None for f in first + paused)
    assert len(cache) == 0 and not cache._inflight and not cache._pausing
    c = cache.counters()
    assert c["rejections"] == 6 and c["loads"] == c["admits"] + c["rejections"] + c["load_failures"]


# -- many threads, no pausing allowed, policy swapped under them ------------------------------------


@pytest.mark.parametrize("max_pause", [0.0, 0.5])
def test_sixty_four_threads_under_a_tight_rss_limit_get_their_values_and_counters_add_up(max_pause):
    memory = SharedMemory(base=0)
    cache = Cache(RSSThresholdLRU(limit=6 * ENTRY, max_loading=0.25, max_pause=max_pause), rss_probe=memory)

    def request(i: int) -> None:
        key = f"k{i % 20}"
        value = cache.get_or_load(key, lambda: (key, memory.io_like_loader(ENTRY, pieces=2)()),
                                  expected_bytes=ENTRY)
        assert value[0] == key

    with ThreadPoolExecutor(64) as pool:
        [f.result(timeout=60) for f in [pool.submit(request, i) for i in range(640)]]
    c = cache.counters()
    assert c["misses"] == c["loads"] + c["coalesced"]
    assert c["loads"] == c["admits"] + c["rejections"] + c["load_failures"] and c["load_failures"] == 0
    assert not cache._pausing and not cache._inflight
    assert cache.managed_bytes() <= memory()


def test_policy_swaps_while_threads_hit_and_load_keep_every_value_and_every_count():
    memory = SharedMemory(base=0)
    policies = [lambda: AgeBased(max_entries=4), lambda: SizeEstimatedLRU(budget=3 * ENTRY, estimator="nbytes"),
                lambda: RSSThresholdLRU(limit=5 * ENTRY, max_pause=0.2),
                lambda: SizeEstimatedLRU(budget=2 * ENTRY, estimator="nbytes", order="s3fifo")]
    cache = Cache(policies[0](), rss_probe=memory)
    stop = threading.Event()

    class Value(bytes):
        nbytes = ENTRY

    def request(i: int) -> None:
        key = f"k{i % 9}"
        assert cache.get_or_load(key, lambda: Value(key.encode())) == key.encode()

    swaps = []

    def swap() -> None:
        while not stop.is_set():
            swaps.append(1)
            cache.policy = policies[len(swaps) % len(policies)]()

    swapper = _run_in_threads(swap)
    try:
        with ThreadPoolExecutor(16) as pool:
            [f.result(timeout=60) for f in [pool.submit(request, i) for i in range(3000)]]
    finally:
        stop.set()
    assert _all_finished(swapper) and len(swaps) > 20
    c = cache.counters()
    assert c["hits"] + c["misses"] == 3000
    assert c["misses"] == c["loads"] + c["coalesced"]
    assert c["loads"] == c["admits"] + c["rejections"] + c["load_failures"]


# -- sizes the caller states ---------------------------------------------------------------------


def test_a_stated_size_counts_as_given_even_above_rss_while_measured_ones_stay_under_it():
    """docs/performance.md: measured sizes never add up to more than RSS; stated ones are taken as given."""
    memory = SharedMemory(base=0)
    cache = Cache(RSSThresholdLRU(limit="1TiB"), rss_probe=memory)
    cache.get_or_load("measured", lambda: memory.chunk(ENTRY))
    assert cache.managed_bytes() == ENTRY <= memory()
    cache.get_or_load("mapped", lambda: Sized(memory.chunk(ENTRY), nbytes=8 * ENTRY))
    cache.put("put", "v", size=4 * ENTRY)
    assert cache.managed_bytes() == 13 * ENTRY > memory() == 2 * ENTRY
