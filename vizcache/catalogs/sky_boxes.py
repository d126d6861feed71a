"""Which HATS partitions a view needs: sky boxes, and the partitions that overlap them.

A view is an RA/Dec box: RA may run across 0/360 (``ra_lo > ra_hi`` after wrapping) or span
the whole circle, Dec is clipped to the poles. The box becomes a MOC (mocpy, as hats' own
``filter_by_box`` does) a couple of orders finer than the deepest partition, and the catalog's
partitions that overlap it are the ones to read.
"""

from __future__ import annotations

import numpy as np

from .hats import HatsCatalog
from .projections import inverse_hammer_aitoff, ra_extent

#: MOC depth beyond the deepest partition: fewer partitions that only touch the box's corners
_EXTRA_DEPTH = 2


def normalise_box(ra_range: tuple[float, float], dec_range: tuple[float, float]) -> list[tuple[float, float, float, float]]:
    """The view as (ra_lo, ra_hi, dec_lo, dec_hi) pieces with 0 <= ra_lo < ra_hi <= 360; [] if empty.

    ``ra_range`` is in plot coordinates: either order, and beyond [0, 360) after panning.
    """
    ra0, ra1 = sorted(float(v) for v in ra_range)
    dec0, dec1 = (float(np.clip(v, -90.0, 90.0)) for v in sorted(dec_range))
    if dec1 <= dec0 or ra1 <= ra0:
        return []
    if ra1 - ra0 >= 360.0:
        return [(0.0, 180.0, dec0, dec1), (180.0, 360.0, dec0, dec1)]
    lo, hi = ra0 % 360.0, ra1 % 360.0
    if hi <= lo:  # across RA 0 (hi == 0.0 means it ends exactly at 360)
        return [(lo, 360.0, dec0, dec1)] + ([(0.0, hi, dec0, dec1)] if hi > 0 else [])
    return [(lo, hi, dec0, dec1)]


def box_from_allsky(x_range: tuple[float, float], y_range: tuple[float, float],
                    samples: int = 48) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The RA/Dec box around a Hammer-Aitoff (x, y) view, by sampling it; None if it misses the sky."""
    xs = np.linspace(*sorted(x_range), samples)
    ys = np.linspace(*sorted(y_range), samples)
    x, y = (a.ravel() for a in np.meshgrid(xs, ys))
    on_sky = (x / (2 * np.sqrt(2))) ** 2 + (y / np.sqrt(2)) ** 2 <= 1.0
    if not on_sky.any():
        return None
    ra, dec = inverse_hammer_aitoff(x[on_sky], y[on_sky])
    # Margin: two sample steps in degrees (one unit of x or y is ~64° at the centre of the map).
    step = 2 * max(np.ptp(xs), np.ptp(ys)) / (samples - 1) * 180.0 / (2 * np.sqrt(2))
    dec_range = (max(dec.min() - step, -90.0), min(dec.max() + step, 90.0))

    start, end = ra_extent(ra, bin_deg=0.5)
    if dec_range[0] <= -89.0 or dec_range[1] >= 89.0 or (start, end) == (0.0, 360.0):
        return (0.0, 360.0), dec_range  # a pole in view: every RA
    end = end + 360.0 if end <= start else end
    return (start - step, end + step), dec_range


def partitions_in_view(catalog: HatsCatalog, ra_range: tuple[float, float], dec_range: tuple[float, float]) -> list:
    """The catalog's partitions (``hats.HealpixPixel``) overlapping the RA/Dec box."""
    from astropy.coordinates import SkyCoord
    from mocpy import MOC

    pieces = normalise_box(ra_range, dec_range)
    if not pieces or not catalog.partitions:
        return []
    depth = min(max(p.order for p in catalog.partitions) + _EXTRA_DEPTH, 29)
    moc = None
    for lo, hi, d0, d1 in pieces:
        zone = MOC.from_zone(SkyCoord([[lo, d0], [hi, d1]], unit="deg"), max_depth=depth)
        moc = zone if moc is None else moc.union(zone)
    return list(catalog.catalog.filter_by_moc(moc).get_healpix_pixels())


def partition_rows_in_view(catalog: HatsCatalog, pixels: list) -> int:
    rows = catalog.partition_rows()
    return sum(rows.get(p, 0) for p in pixels)
