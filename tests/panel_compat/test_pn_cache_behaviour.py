"""What ``pn.cache`` (the installed Panel) does where ``vizcache.cached`` differs, as
docs/switching-from-pn-cache.md describes it: each test shows Panel's behaviour and vizcache's."""

from __future__ import annotations

import threading

import panel as pn
import param

import vizcache

from ..waiting import wait_until


def _counting():
    runs = []

    def f(a, b=2):
        runs.append((a, b))
        return a

    return f, runs


def test_one_call_spelled_three_ways():
    f, runs = _counting()
    panel_f = pn.cache(f)
    panel_f(1, 2), panel_f(1, b=2), panel_f(a=1, b=2)
    assert len(runs) == 3
    runs.clear()
    ours = vizcache.cached(f)
    ours(1, 2), ours(1, b=2), ours(a=1, b=2)
    assert len(runs) == 1


def test_one_and_one_point_zero():
    f, runs = _counting()
    panel_f = pn.cache(f)
    assert type(panel_f(1)) is int and type(panel_f(1.0)) is int  # pn.cache hands 1.0's caller the int
    runs.clear()
    ours = vizcache.cached(f)
    assert type(ours(1)) is int and type(ours(1.0)) is float


def test_a_parameterized_plain_method():
    class Survey(param.Parameterized):
        name = param.String("", doc="The survey's name.")

        @pn.cache
        def panel_label(self):
            return self.name

        @vizcache.cached
        def label(self):
            return self.name

    euclid, planck = Survey(name="Euclid"), Survey(name="Planck")
    assert euclid.panel_label() == "Euclid" and planck.panel_label() == "Euclid"  # shared by every instance
    assert euclid.label() == "Euclid" and planck.label() == "Planck"


def test_a_generator_function():
    @pn.cache
    def rows():
        yield from (1, 2)

    assert list(rows()) == [1, 2] and list(rows()) == []  # cached used up


def test_the_called_form_keeps_policy():
    f, runs = _counting()
    panel_f = pn.cache(max_items=2, policy="FIFO")(f)
    for a in (0, 1, 0, 2, 0):
        panel_f(a)
    assert [a for a, _ in runs] == [0, 1, 2]  # policy dropped: LRU kept 0, FIFO would have run it again
    runs.clear()
    ours = vizcache.cached(max_items=2, policy="FIFO")(f)
    for a in (0, 1, 0, 2, 0):
        ours(a)
    assert [a for a, _ in runs] == [0, 1, 2, 0]


def test_concurrent_callers_of_one_key():
    def run_concurrently(decorate, started: int) -> int:
        gate, runs = threading.Event(), []

        def slow(x):
            runs.append(x)
            gate.wait(10)
            return x

        f = decorate(slow)
        threads = [threading.Thread(target=f, args=(1,)) for _ in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: len(runs) >= started, timeout=10, interval=0.001, message=f"{started} callers inside the function")
        gate.set()
        for t in threads:
            t.join(10)
        return len(runs)

    assert run_concurrently(pn.cache, started=2) >= 2  # no lock around the call: each caller runs it
    assert run_concurrently(vizcache.cached, started=1) == 1  # the others wait for that run, or hit
