"""The keys ``vizcache.cached`` files a call under: one per distinct call, the same for the same call.

* Arguments are bound to the function's signature first, so ``f(1, b=2)``, ``f(1, 2)`` and
  ``f(a=1, b=2)`` are one call, and keyword order does not matter.
* Values keep their types: ``f(1)``, ``f(1.0)`` and ``f(True)`` are three calls, though Python's
  ``==`` (and Panel's hash) make them one; ``-0.0`` and NaN are keyed by their bits. An ``int``,
  ``str``, ``bytes`` or None is its own token (no other token can equal it: floats, booleans
  and complex numbers are tagged with their type, everything else is a tagged digest).
* A key is ``(tag, token, ...)``, one token per parameter in the signature's order; a left-out
  scalar default is the token of that default, so passing it is the same call. A call of
  positional ``int``/``str``/``bytes``/None arguments builds its key without ``Signature.bind``
  (:meth:`CallKeys.scalar_key`): that is the hit path of most cached functions.
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
_BARE = frozenset({int, str, bytes, type(None)})  # equal only to values of their own type among tokens
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
_NO_DEFAULT = object()
_DEFAULT = ("default",)


def is_method(func: Callable) -> bool:
    """Defined in a class body with a first parameter: called with its instance first."""
    owner = func.__qualname__.rpartition(".")[0]
    params = list(inspect.signature(func).parameters.values())
    return bool(owner) and not owner.endswith("<locals>") and bool(params) and params[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class CallKeys:
    """Builds the key of a call to ``func``, ``(tag, token, ...)``; ``forget(instance_id)`` is called
    when a method's instance goes, to drop its entries."""

    def __init__(self, func: Callable, hash_funcs: dict | None, forget: Callable[[int], None], tag: Any = None) -> None:
        self._tag = tag
        self._signature = inspect.signature(func)
        self._method = is_method(func)
        self._hash_funcs = hash_funcs or {}
        self._forget = forget
        self._watched: dict[int, weakref.ref] = {}
        params = self._signature.parameters.values()
        self._defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
        # A scalar default passed explicitly is the same call as leaving it out: both are its token.
        self._default_tokens = {name: self._token(d) for name, d in self._defaults.items()
                                if type(d) in _ATOMS or type(d) is float}
        dinfo = getattr(func, "_dinfo", None) or {}
        self._depends = (*dinfo.get("dependencies", ()), *dinfo.get("kw", {}).values()) if self._method else ()
        self.scalar_key = self._scalar_keys() if not (self._method or self._hash_funcs) else None

    def _scalar_keys(self) -> Callable[[tuple], tuple | None] | None:
        """The key of a call made with positional scalars only, built without ``Signature.bind``
        (which is most of a hit's cost), the same as :meth:`__call__` builds it; None for a call
        it does not cover (the caller then takes :meth:`__call__`). None when no call can be."""
        params = list(self._signature.parameters.values())
        if any(p.kind in _VARIADIC for p in params):
            return None
        count = sum(p.kind in _POSITIONAL for p in params)
        # the tokens of the parameters a call of n arguments leaves out: all defaulted, else no fast key
        tails = [(self._tag, *(self._left_out(p.name) for p in params[n:]))
                 if all(p.name in self._defaults for p in params[n:]) else None for n in range(count + 1)]
        all_bare, tag, token = _BARE.issuperset, self._tag, self._token
        tails = [None if tail is None else tail[1:] for tail in tails]

        def scalar_key(args: tuple) -> tuple | None:
            if len(args) > count or (tail := tails[len(args)]) is None:
                return None  # too many or too few: __call__ raises the TypeError a call would
            if all_bare(map(type, args)):
                return (tag, *args, *tail)
            if not all(type(value) in _ATOMS or type(value) is float for value in args):
                return None
            return (tag, *map(token, args), *tail)
        return scalar_key

    def _left_out(self, name: str) -> Any:
        return self._default_tokens.get(name, _DEFAULT)

    def __call__(self, args: tuple, kwargs: dict) -> tuple:
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        parts = [self._tag]
        if self._method:
            instance = arguments.pop(next(iter(arguments)))
            parts.append(self._instance(instance))
            if self._depends:
                parts.append(("depends", tuple(self._token(_dependency_value(instance, d)) for d in self._depends)))
        for name, value in arguments.items():
            if value is self._defaults.get(name, _NO_DEFAULT):
                # The default object itself, keyed as "left out" even when the function changed
                # it (a mutable default): what it holds now is not part of the call.
                parts.append(self._left_out(name))
                continue
            kind = self._signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                value = dict(value)  # its order is the caller's spelling, not the call
            parts.append(self._token(value))
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

    def _token(self, value: Any) -> Any:
        kind = type(value)
        if self._hash_funcs:  # the user's rules may cover any type, atoms included
            return ("hash", content_hash(value, self._hash_funcs))
        if kind in _BARE:
            return value
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
