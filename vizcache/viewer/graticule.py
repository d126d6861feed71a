"""Coordinate lines on the sky map: an RA/Dec graticule on the all-sky projection and the Galactic plane.

The all-sky map's axes are Hammer-Aitoff x/y, which mean nothing to a reader: lines of constant RA
(every 30°) and Dec (every 30°) with their labels say where things are. The Galactic plane
(b = 0, with b = ±10° dashed) explains empty bands such as PSZ2's.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from ..catalogs.projections import hammer_aitoff

GRID_STYLE = dict(line_color="#9e9e9e", line_width=0.6, line_alpha=0.7)
PLANE_STYLE = dict(line_color="#26a69a", line_width=1.5, line_alpha=0.9)


def _split(ra: np.ndarray, dec: np.ndarray, projection: str) -> list[np.ndarray]:
    """(x, y) pieces of a line in the projection's coordinates, cut where it jumps across the map's edge."""
    x, y = hammer_aitoff(ra, dec) if projection == "all-sky" else (np.mod(ra, 360.0), dec)
    jump = np.abs(np.diff(x)) > (1.0 if projection == "all-sky" else 90.0)
    cuts = np.flatnonzero(jump) + 1
    return [np.column_stack([px, py]) for px, py in zip(np.split(x, cuts), np.split(y, cuts)) if len(px) > 1]


def galactic_plane(projection: str, latitude: float = 0.0) -> list[np.ndarray]:
    """The line of Galactic latitude ``latitude`` in the projection's coordinates (astropy)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    line = SkyCoord(l=np.linspace(0, 360, 721) * u.deg, b=np.full(721, latitude) * u.deg, frame="galactic").icrs
    ra, dec = line.ra.deg, line.dec.deg
    order = np.argsort(ra) if projection == "RA/Dec" else np.arange(len(ra))  # RA/Dec: one left-to-right line
    return _split(ra[order], dec[order], projection)


def graticule(projection: str) -> list[np.ndarray]:
    """RA/Dec lines every 30° for the all-sky projection (the RA/Dec map has its axes)."""
    if projection != "all-sky":
        return []
    lines = []
    for ra in np.arange(0, 360, 30):
        lines += _split(np.full(181, float(ra)), np.linspace(-90, 90, 181), projection)
    for dec in np.arange(-60, 61, 30):
        lines += _split(np.linspace(-180, 180, 361) % 360 + 1e-9, np.full(361, float(dec)), projection)
    return lines


def labels(projection: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(x, y, text) of the graticule's labels: RA along the equator, Dec along RA 0 (all-sky only)."""
    if projection != "all-sky":
        return np.empty(0), np.empty(0), []
    ras = np.arange(0, 360, 60.0)
    x, y = hammer_aitoff(ras, np.zeros_like(ras))
    dx, dy = hammer_aitoff(np.full(5, 0.5), np.arange(-60, 61, 30.0))
    text = [f"{int(r)}°" for r in ras] + [f"{int(d):+d}°" for d in np.arange(-60, 61, 30)]
    return np.concatenate([x, dx]), np.concatenate([y, dy]), text


def multi_line(pieces: list[np.ndarray]) -> dict[str, list]:
    """Line pieces as a Bokeh MultiLine's data."""
    return {"xs": [p[:, 0] for p in pieces], "ys": [p[:, 1] for p in pieces]}


@cache  # the same for every session; Bokeh sends the arrays, never changes them
def sky_lines(projection: str) -> dict[str, dict[str, list]]:
    """The projection's graticule, Galactic plane and the plane's ±10° band, as MultiLine data each."""
    band = galactic_plane(projection, 10.0) + galactic_plane(projection, -10.0)
    return {"grid": multi_line(graticule(projection)), "plane": multi_line(galactic_plane(projection)), "band": multi_line(band)}
