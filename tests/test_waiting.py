"""The shared wait_until: it returns as soon as the condition holds and fails with what it last saw."""

import itertools
import threading

import pytest

from .waiting import wait_until


def test_returns_the_first_truthy_value_without_waiting_further():
    calls = itertools.count(1)
    seen = []

    def third_call_succeeds():
        n = next(calls)
        seen.append(n)
        return "ready" if n == 3 else None

    assert wait_until(third_call_succeeds, timeout=600, interval=0.01) == "ready"
    assert seen == [1, 2, 3]


def test_a_condition_already_true_is_checked_once():
    calls = []
    assert wait_until(lambda: calls.append(1) or 42, timeout=0, interval=600) == 42
    assert calls == [1]


def test_returns_when_another_thread_makes_the_condition_true():
    done = threading.Event()
    threading.Timer(0.05, done.set).start()
    assert wait_until(done.is_set, timeout=60, interval=0.01) is True


def test_timeout_raises_with_the_message_and_the_last_value():
    values = iter(range(1000))
    with pytest.raises(AssertionError) as raised:
        wait_until(lambda: [] if next(values) < 1000 else None, timeout=0.05, interval=0.01, message="the log names 3 loads")
    text = str(raised.value)
    assert text.startswith("the log names 3 loads: not reached within 0.05 s")
    assert text.endswith("last value: []")


def test_ignored_exceptions_count_as_not_yet_and_are_reported():
    attempts = iter([FileNotFoundError("server.log"), FileNotFoundError("server.log"), "started"])

    def read_log():
        item = next(attempts)
        if isinstance(item, Exception):
            raise item
        return item

    assert wait_until(read_log, timeout=60, interval=0.01, ignore=(FileNotFoundError,)) == "started"
    with pytest.raises(AssertionError, match=r"last value: FileNotFoundError\('gone'\)"):
        wait_until(lambda: (_ for _ in ()).throw(FileNotFoundError("gone")), timeout=0.02, interval=0.01, ignore=(FileNotFoundError,))


def test_other_exceptions_propagate_at_once():
    with pytest.raises(ZeroDivisionError):
        wait_until(lambda: 1 / 0, timeout=600)
