"""``@vizcache.cached`` keys (#20): one entry per distinct call, whatever its spelling; methods per
instance; generator functions refused."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import vizcache
from vizcache import AgeBased


def _counting(func):
    calls = []

    def counted(*args, **kwargs):
        calls.append((args, kwargs))
        return func(*args, **kwargs)

    counted.__name__ = counted.__qualname__ = func.__name__ + str(id(calls))  # a cache of its own
    return counted, calls


def test_a_methods_result_belongs_to_its_instance():
    class C:
        def __init__(self, n):
            self.n = n

        @vizcache.cached(policy=AgeBased())
        def m(self, x):
            return (self.n, x)

    first = C(1)
    assert first.m(5) == (1, 5)
    freed = id(first)
    del first
    others = [C(2) for _ in range(1000)]  # CPython hands the freed block to one of these
    reused = [c for c in others if id(c) == freed]
    assert reused, "no new instance reused the freed id: the test did not set up its case"
    assert reused[0].m(5) == (2, 5)  # never the result of the object that had its id
    kept = [C(i) for i in range(50)]
    assert [c.m(7) for c in kept] == [(i, 7) for i in range(50)]
    assert [c.m(7) for c in kept] == [(i, 7) for i in range(50)]  # hits, each its own


def test_an_instance_that_goes_takes_its_entries_with_it():
    class C:
        @vizcache.cached(policy=AgeBased())
        def m(self, x):
            return x

    c = C()
    c.m(1), c.m(2)
    assert C.m.cache_info().entries == 2
    del c
    gc.collect()
    assert C.m.cache_info().entries == 0


def test_generator_functions_are_refused_at_decoration():
    with pytest.raises(TypeError, match="generator function .*returns a list"):
        @vizcache.cached
        def rows():
            yield 1

    with pytest.raises(TypeError, match="generator function"):
        @vizcache.cached
        async def stream():
            yield 1


def test_one_call_however_it_is_spelled():
    loads = []

    @vizcache.cached(policy=AgeBased())
    def f(a, b=2, *rest, c=3, **extra):
        loads.append(1)
        return (a, b, rest, c, extra)

    assert f(1) == f(1, 2) == f(a=1) == f(1, b=2) == f(b=2, a=1) == f(1, c=3)
    assert len(loads) == 1
    assert f(1, 2, x=1, y=2) == f(1, 2, y=2, x=1) and len(loads) == 2  # **extra's order is not the call's


def test_sets_and_dicts_are_keyed_without_their_order():
    loads = []

    @vizcache.cached(policy=AgeBased())
    def f(value):
        loads.append(1)
        return len(value)

    f({1, 2}), f({2, 1}), f(frozenset({1, 2}))
    f({"a": 1, "b": 2}), f({"b": 2, "a": 1})
    assert len(loads) == 3  # set, frozenset, dict


def test_values_python_calls_equal_are_kept_apart_by_type():
    @vizcache.cached(policy=AgeBased())
    def kind(value):
        return type(value).__name__

    assert [kind(1), kind(1.0), kind(True), kind(1 + 0j)] == ["int", "float", "bool", "complex"]
    assert [kind((1,)), kind([1])] == ["tuple", "list"]
    assert kind(float("nan")) == "float" and kind.cache_info().hits == 0
    kind(float("nan"))
    assert kind.cache_info().hits == 1  # NaN is found again


def test_arrays_are_keyed_by_content():
    loads = []

    @vizcache.cached(policy=AgeBased())
    def total(values):
        loads.append(1)
        return float(values.sum())

    a = np.arange(10.0)
    assert total(a) == total(a.copy()) == 45.0 and len(loads) == 1
    a[0] = 100.0
    assert total(a) == 145.0 and len(loads) == 2  # changed in place: a new key, not the old result


def test_a_param_depends_method_is_keyed_on_its_instance_and_dependencies():
    import param

    class Selection(param.Parameterized):
        snr = param.Number(5.0, doc="Lowest signal-to-noise ratio shown.")
        loads = param.Integer(0, doc="How often the method ran.")

        @vizcache.cached(policy=AgeBased())
        @param.depends("snr")
        def shown(self, scale=1):
            self.loads += 1
            return self.snr * scale

    first, second = Selection(snr=5.0), Selection(snr=5.0)
    assert first.shown() == 5.0 and first.shown() == 5.0 and first.loads == 1
    assert second.shown() == 5.0 and second.loads == 1  # its own result, not first's
    first.snr = 6.0
    assert first.shown() == 6.0 and first.loads == 2  # a dependency changed: another call
    assert "snr" in [d.name for d in first.param.method_dependencies("shown")]  # still watched by param


def test_a_mutable_default_the_function_changes_is_still_the_same_call():
    @vizcache.cached(policy=AgeBased())
    def counter(seen=[0]):  # noqa: B006 - the point of the test
        seen[0] += 1
        return seen[0]

    assert counter() == 1 and counter() == 1  # keyed as "left out", not by what the list now holds
    assert counter(seen=[5]) == 6
