"""A cache key that says what it names: the thing, its version, and which part of it.

The cache takes any hashable key. Apps that want their keys shown to people (the viewer's
monitor, the event log) build a :class:`CacheKey` instead of a bare tuple, so the label is
read from the key, never parsed back out of its text.

>>> key = CacheKey("PZWAV", "9f2c", ("Norder=3/Npix=17",))
>>> key.label
'PZWAV Norder=3/Npix=17'
>>> str(key)  # the text a trace file holds
"('PZWAV', '9f2c', 'Norder=3/Npix=17')"
>>> key_label(("plain", "tuple"))
"('plain', 'tuple')"
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple


class CacheKey(NamedTuple):
    name: str  # what a reader knows the value by, e.g. a catalog's name
    version: str  # what makes a changed source a new key (a file fingerprint); never shown
    parts: tuple[str, ...] = ()  # which piece of it, e.g. a HATS partition and what was computed from it

    @property
    def label(self) -> str:
        return " ".join((self.name, *self.parts))

    def __str__(self) -> str:
        # Traces store keys as text, and traces recorded before this type held plain tuples: same text.
        return repr((self.name, self.version, *self.parts))


def key_label(key: Hashable) -> str:
    """How a person is shown ``key``: a :class:`CacheKey`'s label, any other key's text."""
    return key.label if isinstance(key, CacheKey) else str(key)
