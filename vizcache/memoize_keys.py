"""The keys ``vizcache.cached`` files a call under: one per distinct call, the same for the same call.

* Arguments are bound to the function's signature first, so ``f(1, b=2)``, ``f(1, 2)`` and
  ``f(a=1, b=2)`` are one call, and keyword order does not matter.
* Values keep their types: ``f(1)``, ``f(1.0)`` and ``f(True)`` are three calls, though Python's
  ``==`` (and Panel's hash) make them one; ``-0.0`` and NaN are keyed by their bits.
* Sets and dicts are keyed without their order; lists and tuples with it.
* Anything else (arrays, DataFrames, containers, ...) is hashed by content, exactly
  (:mod:`vizcache.memoize_hashing`: ``pn.cache``'s rules, never sampled, ``hash_funcs`` first).
* A method's instance is keyed by identity, as ``functools.cached_property`` keeps a value per
  instance: the instance's entries are forgotten when it is garbage-collected, so a new object
  that reuses its ``id`` never sees them. A ``param.depends`` method is keyed on the current
  values of the parameters it depends on as well (``pn.cache`` keys it on those values only,
  so two instances with equal values share a result); a plain method of a ``Parameterized``
  is keyed on its instance alone, as its parameters may change while it runs (``pn.cache``
  leaves the instance out of such a key altogether: every instance shares one result).
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any

from .memoize_hashing import content_hash

_ATOMS = (type(None), bool, int, complex, str, bytes)
_NO_DEFAULT = object()
_DEFAULT = ("default",)


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
        params = self._signature.parameters.values()
        self._defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
        # A scalar default passed explicitly is the same call as leaving it out.
        self._default_tokens = {name: self._token(d) for name, d in self._defaults.items()
                                if type(d) in _ATOMS or type(d) is float}
        dinfo = getattr(func, "_dinfo", None) or {}
        self._depends = (*dinfo.get("dependencies", ()), *dinfo.get("kw", {}).values()) if self._method else ()

    def __call__(self, args: tuple, kwargs: dict) -> tuple:
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        parts = []
        if self._method:
            instance = arguments.pop(next(iter(arguments)))
            parts.append(("self", self._instance(instance)))
            if self._depends:
                parts.append(("depends", tuple(self._token(_dependency_value(instance, d)) for d in self._depends)))
        for name, value in arguments.items():
            if value is self._defaults.get(name, _NO_DEFAULT):
                # The default object itself, keyed as "left out" even when the function changed
                # it (a mutable default): what it holds now is not part of the call.
                parts.append((name, _DEFAULT))
                continue
            kind = self._signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                value = dict(value)  # its order is the caller's spelling, not the call
            token = self._token(value)
            parts.append((name, _DEFAULT if token == self._default_tokens.get(name) else token))
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
        def gone(ref) -> None:
            if self._watched.get(instance_id) is ref:  # not a newer object's watch at that id
                del self._watched[instance_id]
            self._forget(instance_id)
        return gone

    def _token(self, value: Any) -> tuple:
        kind = type(value)
        if self._hash_funcs:  # the user's rules may cover any type, atoms included
            return ("hash", content_hash(value, self._hash_funcs))
        if kind in _ATOMS:
            return (kind.__name__, value)
        if kind is float:
            return ("float", value.hex())  # NaN equals itself, -0.0 is not 0.0
        # Containers too: content_hash keeps sets and dicts without order and survives cycles.
        return ("hash", content_hash(value, self._hash_funcs))


def _dependency_value(instance: Any, spec: Any) -> Any:
    """What a ``param.depends`` dependency holds now: ``"x"``, ``"sub.x"``, ``"x:constant"``,
    ``"sub.param"`` (all of sub's values) or a ``Parameter`` object."""
    owner, name = getattr(spec, "owner", None), getattr(spec, "name", None)
    if owner is not None and name is not None:  # a Parameter object
        return getattr(owner, name)
    if not isinstance(spec, str):
        return spec  # a reference param resolves itself (a function, a widget): keyed as it is
    target: Any = instance
    parts = [p for p in spec.split(":")[0].split(".") if p]
    for part in parts[:-1]:
        if part != "param":
            target = getattr(target, part)
    last = parts[-1] if parts else "param"
    return target.param.values() if last == "param" else getattr(target, last)
