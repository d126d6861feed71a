"""The ``[viewer]`` table of a config file, typed: what each key means and which values it takes.

The app config (``vizcache.config``) builds one from the file and turns a refused value into a
ConfigError naming the file and key; the viewer reads attributes, never string keys. The HATS
layer takes ``max_points``' bounds and default from here. Imports only param (no Panel).

>>> ViewerSettings(title="clusters", max_points=10_000).max_points
10000
>>> ViewerSettings.refusal("max_points", 10)
'use a whole number from 1,000 to 500,000,000 (rows of a HATS catalog a view draws at most; wider views show its density)'
"""

from __future__ import annotations

from typing import Any

import param


class ViewerSettings(param.Parameterized):
    """What a config's ``[viewer]`` table sets; every key may be left out."""

    title = param.String(default="vizcache", doc="the page title")
    catalog = param.String(default=None, allow_None=True, doc="the catalog shown first (default: the first configured one)")
    members = param.String(default=None, allow_None=True, doc="the members catalog the toggle overlays")
    reports = param.String(default=None, allow_None=True, doc="a folder of `vizcache compare` reports to list")
    max_points = param.Integer(default=5_000_000, bounds=(1_000, 500_000_000),
                               doc="rows of a HATS catalog a view draws at most; wider views show its density")

    @classmethod
    def keys(cls) -> list[str]:
        """The keys a ``[viewer]`` table may hold, in the order they are documented."""
        return [name for name in cls.param if name != "name"]

    @classmethod
    def refusal(cls, key: str, value: Any) -> str | None:
        """What ``key`` allows (``"use ..."``) when it does not take ``value`` as a TOML file gives it; None when it does."""
        parameter = cls.param[key]
        if isinstance(parameter, param.Integer):
            low, high = parameter.bounds
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:  # TOML's true is not 1
                return f"use a whole number from {low:,} to {high:,} ({parameter.doc})"
        elif not isinstance(value, str) or value == "":
            return f"use a string: {parameter.doc}"
        return None
