"""Room for loads that run at once, sizes of overlapped loads, and the small contracts around a
load: a failed load's traceback, eviction reasons, a value reported bigger than the limit."""

from __future__ import annotations

import random
import threading
import time
import traceback
import weakref
from concurrent.futures import ThreadPoolExecutor

import pytest

from vizcache import Cache, RSSThresholdLRU, Sized

from .waiting import wait_until

MiB = 2**20
ENTRY = 32 * MiB


class SharedMemory:
    """RSS = a base plus the chunks alive, safe under threads; remembers the highest RSS seen."""

    def __init__(self, base: int = 64 * MiB) -> None:
        self.base, self.live, self.peak = base, 0, base
        self.lock = threading.Lock()

    def __call__(self) -> int:
        return self.base + self.live

    def add(self, nbytes: int) -> None:
        with self.lock:
            self.live += nbytes
            self.peak = max(self.peak, self.base + self.live)

    def chunk(self, nbytes: int) -> object:
        class Chunk:
            pass
        chunk = Chunk()
        self.add(nbytes)
        weakref.finalize(chunk, self.add, -nbytes)
        return chunk

    def io_like_loader(self, nbytes: int, pieces: int = 4):
        """A load that reads in pieces, giving up the GIL between them, as a file read does."""
        def load():
            chunks = []
            for _ in range(pieces):
                time.sleep(0.002)  # the read's I/O: other threads run meanwhile
                chunks.append(self.chunk(nbytes // pieces))
            return chunks
        return load


def _replay(cache: Cache, memory: SharedMemory, threads: int, requests: list[str], hint: bool) -> list[int]:
    """Each request from a pool of ``threads``; returns RSS after each request."""
    rss_after = []

    def request(key: str) -> None:
        kwargs = {"expected_bytes": ENTRY} if hint else {}
        value = cache.get_or_load(key, memory.io_like_loader(ENTRY), **kwargs)
        assert len(value) == 4
        rss_after.append(memory())

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(request, requests))
    return rss_after


def _zipf_requests(n: int, keys: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(keys)]
    return [f"k{rng.choices(range(keys), weights)[0]}" for _ in range(n)]


@pytest.mark.parametrize("hint", [False, True], ids=["sizes-learned", "sizes-given"])
def test_eight_threads_of_loads_keep_rss_within_one_entry_of_the_limit(hint):
    memory = SharedMemory()
    limit = memory.base + 6 * ENTRY
    cache = Cache(RSSThresholdLRU(limit=limit, high_water=0.9, low_water=0.7), rss_probe=memory)
    rss_after = _replay(cache, memory, 8, _zipf_requests(200, 16, seed=1), hint)
    over = [r for r in rss_after if r > limit]
    assert len(over) <= 0.02 * len(rss_after), f"{len(over)} of {len(rss_after)} requests ended over the limit"
    assert memory.peak <= limit + ENTRY, f"peak {memory.peak / MiB:.0f} MiB, limit {limit / MiB:.0f} MiB"
    assert cache.managed_bytes() <= memory()


def test_sizes_of_overlapped_loads_never_add_up_to_more_than_rss():
    memory = SharedMemory()
    cache = Cache(RSSThresholdLRU(limit="1TiB"), rss_probe=memory)
    gate = threading.Barrier(8)

    def request(key: str) -> None:
        gate.wait(5)
        cache.get_or_load(key, memory.io_like_loader(ENTRY))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(request, [f"k{i}" for i in range(8)]))
    rows = cache.entries()
    assert all(r["overlapped"] for r in rows)
    assert cache.managed_bytes() == sum(r["size_bytes"] for r in rows) <= memory()


def test_a_size_given_before_the_load_makes_room_for_a_new_key():
    memory = SharedMemory(base=0)
    cache = Cache(RSSThresholdLRU(limit=10 * ENTRY, high_water=0.8, low_water=0.5), rss_probe=memory)
    for key in "abcdef":
        cache.get_or_load(key, memory.io_like_loader(ENTRY))  # 6 entries: RSS 60 % of the limit
    seen = []
    cache.get_or_load("big", lambda: seen.append(memory()) or memory.chunk(4 * ENTRY), expected_bytes=4 * ENTRY)
    assert seen[0] + 4 * ENTRY <= cache.policy.high_bytes  # room was made before the load began
    with pytest.raises(ValueError, match="expected_bytes for 'x'"):
        cache.get_or_load("x", lambda: 1, expected_bytes=-5)


def test_a_peak_given_for_a_known_key_makes_room_for_the_peak_not_for_what_it_keeps():
    # A reload of an evicted key: the cache knows it keeps 2 entries, but its load peaks at 4 (a catalog read).
    memory = SharedMemory(base=0)
    cache = Cache(RSSThresholdLRU(limit=10 * ENTRY, high_water=0.8, low_water=0.5), rss_probe=memory)

    def peaky_load():
        seen.append(memory())
        transient = memory.chunk(2 * ENTRY)  # the read's buffers, freed before the load returns
        kept = memory.chunk(2 * ENTRY)
        del transient
        return kept

    seen = []
    cache.get_or_load("cat", peaky_load)
    cache.invalidate("cat")
    assert cache.expected_bytes("cat") == 2 * ENTRY  # what its eviction gave back
    for key in "abcdef":
        cache.get_or_load(key, memory.io_like_loader(ENTRY))  # 6 entries: RSS 60 % of the limit
    seen.clear()
    cache.get_or_load("cat", peaky_load, expected_bytes=4 * ENTRY)
    assert seen[0] + 4 * ENTRY <= cache.policy.high_bytes  # evicted for the peak before the load began
    assert memory.peak <= cache.policy.limit_bytes
    seen.clear()
    cache.invalidate("cat")
    for key in "gh":
        cache.get_or_load(key, memory.io_like_loader(ENTRY))
    cache.get_or_load("cat", peaky_load)  # without the peak: room for what it keeps only
    assert seen[0] + 4 * ENTRY > cache.policy.high_bytes


def test_a_load_nested_in_a_paused_load_does_not_deadlock():
    """A loader that loads another key while a third thread waits for room: each waits only for
    loads whose threads are running, so the nested load goes ahead."""
    memory = SharedMemory(base=0)
    cache = Cache(RSSThresholdLRU(limit=4 * ENTRY, high_water=0.9, low_water=0.5), rss_probe=memory)
    cache.get_or_load("outer", memory.io_like_loader(ENTRY))
    cache.get_or_load("inner", memory.io_like_loader(ENTRY))
    cache.invalidate("outer"), cache.invalidate("inner")

    def outer():
        return [cache.get_or_load("inner", memory.io_like_loader(ENTRY)), memory.chunk(ENTRY)]

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(cache.get_or_load, "outer", outer),
                   pool.submit(cache.get_or_load, "third", memory.io_like_loader(2 * ENTRY), expected_bytes=2 * ENTRY)]
        [f.result(timeout=20) for f in futures]  # max_pause is 30 s: a load that waited it out times out here
    assert not cache._pausing and not cache._inflight


def test_a_failed_load_shared_by_30_waiters_keeps_its_own_traceback():
    cache = Cache(RSSThresholdLRU(limit="1TiB"))
    gate = threading.Event()

    def loader():
        gate.wait(60)  # opened once every caller waits on this load
        raise OSError("disk gone")

    def call():
        try:
            cache.get_or_load("k", loader)
        except OSError as exc:
            return len(traceback.extract_tb(exc.__traceback__))

    with ThreadPoolExecutor(30) as pool:
        futures = [pool.submit(call) for _ in range(30)]
        wait_until(lambda: cache.stats()["coalesced"] == 29, message="29 callers waiting on the failing load")
        gate.set()
        depths = [f.result(timeout=10) for f in futures]
    assert max(depths) <= 12, depths


@pytest.mark.parametrize("reason", ["", "  ", "two\nlines", "x" * 201, "cleared", "replaced", None, 5])
def test_an_eviction_reason_is_one_short_line_not_the_caches_own(reason):
    cache = Cache(RSSThresholdLRU(limit="1TiB"))
    cache.get_or_load("k", lambda: 1)
    with pytest.raises(ValueError, match="eviction reason"):
        cache.evict_until(lambda: len(cache) == 0, reason=reason)
    with pytest.raises(ValueError, match="eviction reason"):
        cache.evict_entries(cache.entry_objects(), reason=reason)
    assert "k" in cache and cache.counters()["evictions"] == 0


def test_a_value_reported_bigger_than_the_limit_is_returned_not_kept():
    cache = Cache(RSSThresholdLRU(limit="2GiB"))
    value = cache.get_or_load("huge", lambda: Sized([1], nbytes=5 * 2**30))
    assert value == [1] and "huge" not in cache
    warnings = cache.stats()["warnings"]
    assert any("'huge' reports 5.00 GiB, more than the limit 2.00 GiB" in w for w in warnings), warnings
