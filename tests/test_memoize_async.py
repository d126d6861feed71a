"""``async def`` functions under ``vizcache.cached`` (#23): awaited once per key, concurrent awaiters
share that one await, a failure or a cancelled leader is not cached."""

from __future__ import annotations

import asyncio

import pytest

import vizcache


def _fetcher(gate: asyncio.Event | None = None, fail: bool = False):
    runs = []

    async def fetch(x):
        runs.append(x)
        if gate is not None:
            await gate.wait()
        if fail:
            raise RuntimeError(f"cannot fetch {x}")
        return [x]

    return fetch, runs


def test_concurrent_awaiters_share_one_flight():
    async def main():
        gate = asyncio.Event()
        fetch, runs = _fetcher(gate)
        cached = vizcache.cached(fetch)
        callers = [asyncio.ensure_future(cached(7)) for _ in range(10)]
        await asyncio.sleep(0)  # every caller has started and found the flight
        gate.set()
        results = await asyncio.gather(*callers)
        assert runs == [7] and all(r is results[0] for r in results)
        assert await cached(7) is results[0] and runs == [7]  # a hit
        assert cached.cache_info().misses == 1

    asyncio.run(main())


def test_a_failure_reaches_every_awaiter_and_is_not_cached():
    async def main():
        gate = asyncio.Event()
        fetch, runs = _fetcher(gate, fail=True)
        cached = vizcache.cached(fetch)
        callers = [asyncio.ensure_future(cached(1)) for _ in range(3)]
        await asyncio.sleep(0)
        gate.set()
        outcomes = await asyncio.gather(*callers, return_exceptions=True)
        assert [str(o) for o in outcomes] == ["cannot fetch 1"] * 3 and runs == [1]
        with pytest.raises(RuntimeError):
            await cached(1)
        assert runs == [1, 1]

    asyncio.run(main())


def test_a_waiter_takes_over_when_the_leader_is_cancelled():
    async def main():
        gate = asyncio.Event()
        fetch, runs = _fetcher(gate)
        cached = vizcache.cached(fetch)
        leader = asyncio.ensure_future(cached(3))
        await asyncio.sleep(0)
        waiter = asyncio.ensure_future(cached(3))
        await asyncio.sleep(0)
        leader.cancel()
        await asyncio.sleep(0)
        gate.set()
        assert await waiter == [3] and runs == [3, 3]
        assert leader.cancelled()

    asyncio.run(main())
