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


# -- no test leaves a process running ----------------------------------------------------------

#: helpers the standard library starts once and keeps for the life of the interpreter
_LONG_LIVED = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def _become_subreaper() -> None:
    """Orphans of our children (a server whose parent was killed) are re-parented to pytest, so the guard sees them."""
    import ctypes
    import sys

    if sys.platform.startswith("linux"):
        PR_SET_CHILD_SUBREAPER = 36
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _running_children() -> dict[int, "psutil.Process"]:
    import psutil

    running = {}
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and not any(name in " ".join(child.cmdline()) for name in _LONG_LIVED):
                running[child.pid] = child
        except psutil.NoSuchProcess:
            pass
    return running


def leftover_processes(before: set[int], grace: float = 10.0) -> list[str]:
    """Processes started since ``before`` that are still running after ``grace`` seconds; they are killed."""
    import time

    import psutil

    deadline = time.monotonic() + grace
    while True:
        new = {pid: p for pid, p in _running_children().items() if pid not in before}
        if not new or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    described = []
    for process in new.values():
        try:
            described.append(f"pid {process.pid}: {' '.join(process.cmdline())[:200]}")
            process.kill()
            process.wait(timeout=10)
        except psutil.NoSuchProcess:
            pass
    return described


@pytest.fixture(autouse=True)
def no_leftover_processes():
    """Fails a test that leaves a child process (server, browser, worker) running after its fixtures are torn down."""
    before = set(_running_children())
    yield
    leftover = leftover_processes(before)
    if leftover:
        pytest.fail("the test left processes running (killed now):\n" + "\n".join(leftover), pytrace=False)


def pytest_configure(config):
    _become_subreaper()
