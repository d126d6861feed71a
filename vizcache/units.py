"""Byte sizes as people write them ("1.5GiB", "800MB", 4096) and back."""

from __future__ import annotations

import re

_UNITS = {
    "": 1, "B": 1,
    "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
    "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]*)\s*$")

SIZE_HELP = 'a whole number of bytes or a string like "800MB", "1.5GiB" (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)'


def parse_bytes(value: int | float | str) -> int:
    """Return ``value`` as a whole number of bytes; raise ValueError saying what is allowed."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size: use {SIZE_HELP}")
    if isinstance(value, (int, float)):
        if value < 0 or value != value:
            raise ValueError(f"{value!r} is not a size: sizes are >= 0")
        return int(value)
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match and match.group(2).upper() in _UNITS:
            return int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    raise ValueError(f"{value!r} is not a size: use {SIZE_HELP}")


def format_bytes(n: float | None) -> str:
    """Human-readable binary size, e.g. ``1.50 GiB``; ``-`` for None."""
    if n is None:
        return "-"
    sign = "-" if n < 0 else ""
    n = abs(float(n))
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{sign}{n:.0f} {unit}" if unit == "B" else f"{sign}{n:.2f} {unit}"
        n /= 1024
    return f"{sign}{n:.2f} TiB"
