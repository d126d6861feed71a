"""Shared fixtures: a fake process memory whose RSS follows the objects really alive."""

from __future__ import annotations

import weakref

import pytest

MiB = 2**20


class Blob:
    """A stand-in payload that 'occupies' ``nbytes`` of FakeMemory until it is garbage."""

    __slots__ = ("nbytes", "__weakref__")

    def __init__(self, nbytes: int) -> None:
        self.nbytes = nbytes


class FakeMemory:
    """RSS = base + bytes of live blobs; ``other`` models memory the cache does not own."""

    def __init__(self, base: int = 100 * MiB) -> None:
        self.base = base
        self.live = 0
        self.other = 0

    def rss(self) -> int:
        return self.base + self.live + self.other

    def blob(self, nbytes: int) -> Blob:
        b = Blob(nbytes)
        self.live += nbytes
        weakref.finalize(b, self._free, nbytes)
        return b

    def _free(self, nbytes: int) -> None:
        self.live -= nbytes

    def loader(self, nbytes: int):
        return lambda: self.blob(nbytes)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def memory() -> FakeMemory:
    return FakeMemory()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
