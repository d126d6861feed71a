"""The keys ``vizcache.cached`` files a call under: one per distinct call, the same for the same call.

* Arguments are bound to the function's signature first, so ``f(1, b=2)``, ``f(1, 2)`` and
  ``f(a=1, b=2)`` are one call, and keyword order does not matter.
* Values keep their types: ``f(1)``, ``f(1.0)`` and ``f(True)`` are three calls, though Python's
  ``==`` (and Panel's hash) make them one; ``-0.0`` and NaN are keyed by their bits.
* Sets and dicts are keyed without their order; lists and tuples with it.
* Anything else (arrays, DataFrames, param objects, ...) is hashed by content with Panel's own
  hash functions (``pn.cache``'s rules, with ``hash_funcs`` overriding them).
* A method's instance is keyed by identity, as ``functools.cached_property`` keeps a value per
  instance: the instance's entries are forgotten when it is garbage-collected, so a new object
  that reuses its ``id`` never sees them.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any

_ATOMS = (type(None), bool, int, complex, str, bytes)


def is_method(func: Callable) -> bool:
    """Defined in a class body with a first parameter: called with its instance first."""
    owner = func.__qualname__.rpartition(".")[0]
    params = list(inspect.signature(func).parameters.values())
    return bool(owner) and not owner.endswith("<locals>") and bool(params) and params[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class CallKeys:
    """Builds the key of a call to ``func``; ``forget(instance_id)`` is called when a method's
    instance goes, to drop its entries."""

    def __init__(self, func: Callable, hash_funcs: dict | None, forget: Callable[[int], None]) -> None:
        self._signature = inspect.signature(func)
        self._method = is_method(func)
        self._hash_funcs = hash_funcs or {}
        self._forget = forget
        self._watched: dict[int, weakref.ref] = {}

    def __call__(self, args: tuple, kwargs: dict) -> tuple:
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        parts = []
        if self._method:
            name = next(iter(arguments))
            parts.append(("self", self._instance(arguments.pop(name))))
        for name, value in arguments.items():
            kind = self._signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                value = dict(value)  # its order is the caller's spelling, not the call
            parts.append((name, self._token(value)))
        return tuple(parts)

    def _instance(self, instance: Any) -> tuple:
        try:
            ref = self._watched.get(id(instance))
            if ref is None or ref() is not instance:
                self._watched[id(instance)] = weakref.ref(instance, self._gone(id(instance)))
            return ("instance", id(instance))
        except TypeError:  # no weak references: keyed by what it holds, as pn.cache does
            return self._token(instance)

    def _gone(self, instance_id: int) -> Callable:
        def gone(_ref) -> None:
            self._watched.pop(instance_id, None)
            self._forget(instance_id)
        return gone

    def _token(self, value: Any) -> tuple:
        kind = type(value)
        if kind in _ATOMS:
            return (kind.__name__, value)
        if kind is float:
            return ("float", value.hex())  # NaN equals itself, -0.0 is not 0.0
        if kind in (list, tuple):
            return (kind.__name__, tuple(self._token(v) for v in value))
        if kind in (set, frozenset):
            return (kind.__name__, frozenset(self._token(v) for v in value))
        if kind is dict:
            return ("dict", frozenset((self._token(k), self._token(v)) for k, v in value.items()))
        return (f"{kind.__module__}.{kind.__qualname__}", _panel_hash(value, self._hash_funcs))


def _panel_hash(value: Any, hash_funcs: dict) -> bytes:
    # Panel's hash of one value, by content; not compute_hash, which memoizes hashes of arrays
    # and frames by id() (a new array at a freed one's address would get its hash).
    from panel.io.cache import _generate_hash, _override_hash_funcs

    with _override_hash_funcs(hash_funcs):
        return _generate_hash(value)
