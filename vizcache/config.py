"""TOML configuration: which policy, with which parameters — and one clear error when it is wrong.

A policy is chosen by a ``[policy]`` table::

    [policy]
    name = "RSSThresholdLRU"   # any name `vizcache policies` lists
    limit = "6GiB"
    high_water = 0.8
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .policies import CachePolicy, available_policies
from .policies.base import allowed_values


class ConfigError(ValueError):
    """A configuration problem; the message names the file, the key and what is allowed."""


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, turning a missing file or a syntax error into a ConfigError."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a TOML config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (TOML must be UTF-8)") from None


def policy_from_table(table: Any, source: str, where: str = "[policy]") -> CachePolicy:
    """Build a policy from a parsed table such as ``{"name": "AgeBased", "max_age": 60}``."""
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: {where} must be a table with a 'name' key")
    known = available_policies()
    name = table.get("name")
    if not isinstance(name, str) or name not in known:
        got = "is missing" if name is None else f"= {name!r} is not a known policy"
        raise ConfigError(f"{source}: {where} name {got}; known policies: {', '.join(known)}")
    cls = known[name]
    params = cls.param.objects("existing")
    values = {k: v for k, v in table.items() if k != "name"}
    for key, value in values.items():
        if key not in params or key == "name":
            allowed = ", ".join(k for k in params if k != "name")
            raise ConfigError(f"{source}: {where} unknown key {key!r} for {name}; allowed keys: {allowed}")
        try:
            params[key]._validate(value)
        except ValueError:
            raise ConfigError(f"{source}: {where} {key} = {value!r} is not allowed for {name}: use {allowed_values(params[key])}") from None
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
