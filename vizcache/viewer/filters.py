"""The SNR and redshift filters and a condition over the columns as a value: which rows pass, and a key
for what was counted with them."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from .expression import Expression

#: filtered column -> which range applies to it
FILTERED = {"snr": "snr", "z": "z", "z_phot": "z"}


@dataclass(frozen=True)
class RowFilter:
    """Ranges that narrow (a range equal to its parameter's bounds is left out) and what to do with unknown z.

    A snapshot: a filter handed to a reading thread does not change when the user moves a slider.

    >>> RowFilter.of({"snr": (5, 20), "z": (0, 3)}, {"snr": (0, 100), "z": (0, 3)}, keep_unknown_z=True).ranges
    (('snr', 5.0, 20.0),)
    """

    ranges: tuple[tuple[str, float, float], ...]  # (snr | z, lo, hi)
    keep_unknown_z: bool
    where: str = ""  # a condition (expression.py) in its parsed form, "" for none

    @classmethod
    def of(cls, ranges: dict[str, tuple[float, float]], bounds: dict[str, tuple[float, float]], keep_unknown_z: bool,
           where: str = "") -> RowFilter:
        narrowing = tuple((name, float(lo), float(hi)) for name, (lo, hi) in ranges.items() if (lo, hi) != tuple(bounds[name]))
        return cls(narrowing, bool(keep_unknown_z), parsed(where).canonical if where.strip() else "")

    @property
    def narrows(self) -> bool:
        """Whether any row can fail it."""
        return bool(self.ranges or self.where)

    def __str__(self) -> str:
        """What the filter keeps, for people: ``z 0.4-0.9 (unknown z kept)`` (rounded; ``signature`` is exact)."""
        text = ", ".join(f"{name} {lo:g}-{hi:g}" for name, lo, hi in self.ranges)
        z = any(name == "z" for name, _, _ in self.ranges)
        return self._with_where(text + (" (unknown z kept)" if z and self.keep_unknown_z else ""))

    def signature(self) -> str:
        """What the filter keeps, exactly (``repr`` of each bound), for cache keys: two filters that
        ``str`` rounds alike (6 significant digits) pass different rows and must not share counts."""
        text = ", ".join(f"{name} {lo!r}-{hi!r}" for name, lo, hi in self.ranges)
        z = any(name == "z" for name, _, _ in self.ranges)
        return self._with_where(text + (" (unknown z kept)" if z and self.keep_unknown_z else ""))

    def _with_where(self, text: str) -> str:
        where = f"where {self.where}" if self.where else ""
        return ", ".join(t for t in (text, where) if t) or "no filter"

    def only(self, columns) -> RowFilter:
        """This filter on a frame of these ``columns``: ranges on columns it lacks narrow nothing (as in
        ``mask``), and unknown z matters only under a z range, so filters passing the same rows are equal."""
        ranges = tuple(r for r in self.ranges if any(name == r[0] and column in columns for column, name in FILTERED.items()))
        where = self.where if self.where and set(parsed(self.where).columns) <= set(columns) else ""
        return RowFilter(ranges, self.keep_unknown_z and any(name == "z" for name, _, _ in ranges), where)

    def columns(self) -> list[str]:
        """The canonical columns the filter reads."""
        names = {name for name, _, _ in self.ranges}
        ranged = [column for column, name in FILTERED.items() if name in names]
        return list(dict.fromkeys([*ranged, *(parsed(self.where).columns if self.where else ())]))

    def mask(self, frame: pd.DataFrame) -> pd.Series | None:
        """Rows passing, or None when nothing in ``frame`` is narrowed (so nothing is copied)."""
        mask = None
        for column, name in FILTERED.items():
            for range_name, lo, hi in self.ranges:
                if range_name != name or column not in frame.columns:
                    continue
                m = (frame[column] >= lo) & (frame[column] <= hi)
                if name == "z" and self.keep_unknown_z:
                    m |= frame[column].isna()
                mask = m if mask is None else mask & m
        if self.where:  # like a range, a condition on columns the frame lacks narrows nothing (members under a cluster filter)
            condition = parsed(self.where)
            if set(condition.columns) <= set(frame.columns):
                m = condition.mask(frame)
                mask = m if mask is None else mask & m
        return mask


@functools.lru_cache(maxsize=64)
def parsed(text: str) -> Expression:
    """A condition parsed once (a filter's mask is asked for each frame and partition)."""
    return Expression.parse(text)
