"""Weigher: the parameter that says how a size-estimating policy weighs a value.

Like cachetools' ``getsizeof`` and Caffeine's ``Weigher``: a named built-in estimator, any
callable ``value -> bytes``, or — so a TOML file can name one — ``"package.module:function"``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

import param
from param.parameterized import Undefined

from ..sizing import ESTIMATORS


class Weigher(param.Parameter):
    """A size estimator: a name in ``objects``, a callable, or ``"package.module:function"``."""

    __slots__ = ["objects"]
    _slot_defaults = {**param.Parameter._slot_defaults, "default": "getsizeof", "objects": []}

    def __init__(self, default: Any = Undefined, *, objects=Undefined, **params) -> None:
        super().__init__(default=default, **params)
        object.__setattr__(self, "objects", objects)
        self._validate(self.default)

    def _validate(self, val: Any) -> None:
        try:
            self.resolve(val)
        except ValueError as exc:
            raise ValueError(f"{self.name}={val!r}: {exc}") from None

    @staticmethod
    def resolve(value: Any) -> Callable[[Any], int]:
        """The estimator function ``value`` names; ValueError saying what is allowed."""
        if callable(value):
            return value
        if isinstance(value, str) and value in ESTIMATORS:
            return ESTIMATORS[value]
        allowed = f"use one of {', '.join(map(repr, ESTIMATORS))}, a callable, or \"package.module:function\""
        if not isinstance(value, str) or value.count(":") != 1:
            raise ValueError(allowed)
        module_name, _, attr = value.partition(":")
        try:
            fn = getattr(import_module(module_name), attr)
        except (ImportError, AttributeError, ValueError, TypeError) as exc:  # TypeError: a relative name, ".mod:fn"
            raise ValueError(f"cannot import {value!r} ({type(exc).__name__}: {exc}); {allowed}") from None
        if not callable(fn):
            raise ValueError(f"{value!r} is not callable; {allowed}")
        return fn
