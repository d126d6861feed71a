"""The ``[policy]`` table of a TOML file: which policy, with which parameters — one clear error when wrong.

::

    [policy]
    name = "RSSThresholdLRU"   # any name `vizcache policies` lists
    limit = "6GiB"
    high_water = 0.8

The cache's own reader: it knows policies and nothing of catalogs or the viewer, whose sections
``vizcache.config`` reads from the same file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import param

from ..config_file import ConfigError, read_toml, shown
from . import CachePolicy, available_policies
from .base import allowed_values

__all__ = ["policy_from_config", "policy_from_table"]


def _accepts(parameter: param.Parameter, value: Any) -> bool:
    """Whether a policy parameter takes ``value`` as a config file gives it."""
    if isinstance(value, bool) and not isinstance(parameter, param.Boolean):
        return False  # TOML's true is not the number 1
    if isinstance(value, float) and not math.isfinite(value):
        return False  # no bound or duration means anything by inf or nan
    try:
        parameter._validate(value)
    except (ValueError, TypeError, OverflowError):  # a plugin's parameter may refuse a value with any of these
        return False
    return True


def policy_from_table(table: Any, source: str, where: str = "[policy]") -> CachePolicy:
    """Build a policy from a parsed table such as ``{"name": "AgeBased", "max_age": 60}``."""
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: {where} must be a table with a 'name' key")
    known = available_policies()
    name = table.get("name")
    if not isinstance(name, str) or name not in known:
        got = "is missing" if name is None else f"= {shown(name)} is not a known policy"
        raise ConfigError(f"{source}: {where} name {got}; known policies: {', '.join(known)}")
    cls = known[name]
    params = {key: p for key, p in cls.param.objects("existing").items() if key != "name"}
    values = {k: v for k, v in table.items() if k != "name"}
    for key, value in values.items():
        if key not in params:
            raise ConfigError(f"{source}: {where} unknown key {shown(key)} for {name}; allowed keys: {', '.join(params)}")
        if not _accepts(params[key], value):
            raise ConfigError(f"{source}: {where} {key} = {shown(value)} is not allowed for {name}: use {allowed_values(params[key])}")
    try:
        return cls(**values)
    except ValueError as exc:  # constraints across parameters, e.g. low_water < high_water
        raise ConfigError(f"{source}: {where} {exc}") from None


def policy_from_config(path: str | Path) -> CachePolicy:
    """The policy a TOML config file selects in its ``[policy]`` table."""
    data = read_toml(path)
    if "policy" not in data:
        raise ConfigError(f"{path}: no [policy] table; add one with name = one of {', '.join(available_policies())}")
    return policy_from_table(data["policy"], str(path))
