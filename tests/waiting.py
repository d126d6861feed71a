"""One way for tests to wait for a server, a browser page, a process or a thread: poll a condition, never sleep a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.1, message: str = "the condition",
               ignore: tuple[type[BaseException], ...] = ()) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something truthy, and return that.

    Raises AssertionError naming ``message`` and the last value seen when ``timeout`` seconds pass first.
    Exceptions of the types in ``ignore`` (a page reloading, a log not yet written) count as a falsy value.
    Timeouts are generous on purpose: the machine running the tests may be loaded, and a met condition returns at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except ignore as error:
            value = error  # an exception instance is truthy: keep it apart from a real answer
            ok = False
        else:
            ok = bool(value)
        if ok:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message}: not reached within {timeout:g} s; last value: {value!r}")
        time.sleep(interval)
