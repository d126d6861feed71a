"""Sky geometry, vectorised: RA wrapped to [0, 360), the arc a set of RAs spans, and the all-sky
Hammer-Aitoff projection."""

from __future__ import annotations

import numpy as np


def wrap_ra(ra: np.ndarray) -> np.ndarray:
    """RA in [0, 360): -10 and 350 are the same place."""
    return np.mod(ra, 360.0)


def center_ra(ra: np.ndarray, center: float) -> np.ndarray:
    """RA relative to ``center`` in (-180, 180], so a patch across RA 0 stays in one piece."""
    return (np.asarray(ra) - center + 180.0) % 360.0 - 180.0


def hammer_aitoff(ra_deg: np.ndarray, dec_deg: np.ndarray, center: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Equal-area all-sky (x, y), x in [-2√2, 2√2], y in [-√2, √2].

    Like sky maps, RA grows to the left: x is negated so east is left.
    """
    lon = np.radians(center_ra(ra_deg, center))
    lat = np.radians(dec_deg)
    cos_lat = np.cos(lat)
    denom = np.sqrt(1.0 + cos_lat * np.cos(lon / 2.0))
    x = -2.0 * np.sqrt(2.0) * cos_lat * np.sin(lon / 2.0) / denom
    y = np.sqrt(2.0) * np.sin(lat) / denom
    return x, y


def inverse_hammer_aitoff(x: np.ndarray, y: np.ndarray, center: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(ra, dec) in degrees from Hammer-Aitoff (x, y) as produced by :func:`hammer_aitoff`."""
    x = -np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    zz = np.sqrt(1.0 - (x / 4.0) ** 2 - (y / 2.0) ** 2)
    lon = 2.0 * np.arctan2(zz * x, 2.0 * (2.0 * zz**2 - 1.0))
    lat = np.arcsin(np.clip(zz * y, -1.0, 1.0))
    return wrap_ra(np.degrees(lon) + center), np.degrees(lat)


def ra_extent(ra: np.ndarray, bin_deg: float = 0.1) -> tuple[float, float]:
    """(start, end) of the smallest RA arc holding every point; start > end when it crosses RA 0."""
    bins = int(round(360 / bin_deg))
    occupied = np.bincount((np.mod(ra, 360.0) / bin_deg).astype(int) % bins, minlength=bins) > 0
    if occupied.all():
        return 0.0, 360.0
    # Largest circular run of empty bins: the extent is everything else.
    empty = np.concatenate([~occupied, ~occupied]).astype(np.int8)
    edges = np.diff(np.concatenate([[0], empty, [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    longest = np.argmax(np.minimum(ends - starts, bins))
    gap_start, gap_end = starts[longest] % bins, ends[longest] % bins
    return gap_end * bin_deg, gap_start * bin_deg
