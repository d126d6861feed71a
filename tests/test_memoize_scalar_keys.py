"""The bind-free key of a scalar call (#23) is the key ``Signature.bind`` gives the same call, however
it is spelled, and it keeps ``1``, ``1.0``, ``True`` and ``"1"`` apart."""

from __future__ import annotations

import pytest

import vizcache
from vizcache.memoize_keys import CallKeys


def two(a, b="north", *, c=None):
    return a


def defaults_only(a=1, b=2.5):
    return a


def _keys(func):
    return CallKeys(func, None, lambda instance_id: None, tag="f")


@pytest.mark.parametrize("func, args, kwargs", [
    (two, (1,), {}), (two, (1, "north"), {}), (two, (1, "south"), {}), (two, (1,), {"b": "north"}),
    (two, (1,), {"b": "north", "c": None}), (two, (None, b"x"), {}), (two, (1.0,), {}), (two, (True,), {}),
    (two, (-0.0, "north"), {}), (two, (float("nan"),), {}), (two, (1 + 2j,), {}),
    (defaults_only, (), {}), (defaults_only, (1,), {}), (defaults_only, (1, 2.5), {}), (defaults_only, (), {"b": 2.5}),
])
def test_the_scalar_key_is_the_bound_key(func, args, kwargs):
    keys = _keys(func)
    spelled = keys(args, kwargs)
    bound = keys._signature.bind(*args, **kwargs)
    bound.apply_defaults()
    positional = tuple(v for k, v in bound.arguments.items() if k != "c")  # the same call, all positional
    assert keys.scalar_key(positional) == keys(positional, {}) == spelled
    assert keys.scalar_key(args) == keys(args, {})


def test_spellings_of_one_call_share_a_key_and_types_stay_apart():
    keys = _keys(two)
    assert keys.scalar_key((1,)) == keys.scalar_key((1, "north")) == keys((), {"a": 1, "b": "north", "c": None})
    tokens = {keys.scalar_key((v,)) for v in (1, 1.0, True, "1", b"1")}
    assert len(tokens) == 5
    assert keys.scalar_key((1, 2, 3)) is None and keys.scalar_key(()) is None  # the bound path raises for these
    assert keys.scalar_key(([1],)) is None  # not a scalar: hashed by content on the bound path


def test_scalar_and_keyword_calls_hit_one_entry():
    calls = []

    @vizcache.cached(limit=None)
    def f(a, b="north"):
        calls.append((a, b))
        return a

    assert [f(1), f(1, "north"), f(a=1), f(b="north", a=1), f(1.0), f(True)] == [1, 1, 1, 1, 1.0, True]
    assert calls == [(1, "north"), (1.0, "north"), (True, "north")]
    assert f.cache_info()[:3] == (3, 3, 3)
    with pytest.raises(TypeError):
        f(1, 2, 3)
