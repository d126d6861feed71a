"""Which HATS partitions a view needs, and loading them, each one cache entry, in parallel.

A view is an RA/Dec box: RA may run across 0/360 (``ra_lo > ra_hi`` after wrapping) or span
the whole circle, Dec is clipped to the poles. The box becomes a MOC (mocpy, as hats' own
``filter_by_box`` does) a couple of orders finer than the deepest partition, and the catalog's
partitions that overlap it are the ones to read.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np
import pandas as pd

from ..cache import Sized
from .hats import HatsCatalog, density_frame, healpix_of, pixel_key
from .projections import inverse_hammer_aitoff

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


def box_from_allsky(x_range: tuple[float, float], y_range: tuple[float, float], samples: int = 48) -> tuple[tuple[float, float], tuple[float, float]] | None:
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
    from .source import ra_extent

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


class PartitionLoader:
    """Partitions through a cache: one entry per partition, loaded in parallel, single-flight.

    >>> frames = PartitionLoader(cache, catalog).load(partitions_in_view(catalog, (350, 10), (-5, 5)))
    """

    def __init__(self, cache, catalog: HatsCatalog, workers: int = 4) -> None:
        self.cache = cache
        self.catalog = catalog
        self.workers = workers

    def key(self, pixel) -> tuple[str, str, str]:
        # The catalog's version is in the key: a re-partitioned catalog never serves stale partitions.
        return (self.catalog.name, self.catalog.version, pixel_key(pixel))

    def read(self, pixel) -> Sized:
        frame = self.catalog.load_partition(pixel)
        # The frame's own size: RSS deltas of loads running side by side are not separable.
        return Sized(frame, int(frame.memory_usage(deep=True).sum()))

    def cached(self, pixels: list) -> int:
        return sum(self.key(p) in self.cache for p in pixels)

    def load(self, pixels: list, progress: Callable[[int, int, list], None] | None = None) -> list[pd.DataFrame]:
        """Each partition's frame, in the order of ``pixels``.

        ``progress(done, total, frames)`` runs after each, in the caller's thread, with the frames
        so far (None where a partition is still being read): enough to draw what is ready.
        """
        if not pixels:
            return []

        def one(pixel):
            return self.cache.get_or_load(self.key(pixel), lambda: self.read(pixel))

        frames: list = [None] * len(pixels)
        with ThreadPoolExecutor(max_workers=min(self.workers, len(pixels)), thread_name_prefix="vizcache-partition") as pool:
            futures = {pool.submit(one, p): i for i, p in enumerate(pixels)}
            try:
                for done, future in enumerate(as_completed(futures), 1):
                    frames[futures[future]] = future.result()
                    if progress is not None:
                        progress(done, len(pixels), frames)
            except BaseException:
                for future in futures:  # a failed read or a caller that gave up: read no further
                    future.cancel()
                raise
        return frames


class FilteredCounts(PartitionLoader):
    """Rows passing a filter per HEALPix pixel of ``order``, one small cache entry per partition and filter.

    The density of a filtered view too wide to draw its rows: each partition is read (only the
    columns the filter needs, with ra and dec), filtered and counted, and the counts kept; the
    rows are not.

    >>> counts = FilteredCounts(cache, catalog, 8, ["z_phot"], keep, "z 0.5-1")
    >>> frame = counts.density(counts.load(catalog.partitions))
    """

    def __init__(self, cache, catalog: HatsCatalog, order: int, columns: list[str],
                 keep: Callable[[pd.DataFrame], object], signature: str, workers: int = 4) -> None:
        super().__init__(cache, catalog, workers)
        self.order = order
        self.columns = columns
        self.keep = keep  # frame -> boolean mask (or None: every row passes)
        self.signature = signature  # what identifies the filter in cache keys (and shows in the monitor)

    def key(self, pixel) -> tuple:
        return (*super().key(pixel), f"rows per order-{self.order} pixel", self.signature)

    def read(self, pixel) -> Sized:
        frame = self.catalog.load_columns(pixel, self.columns)
        mask = self.keep(frame)
        if mask is not None:
            frame = frame[np.asarray(mask, dtype=bool)]
        pixels, counts = np.unique(healpix_of(self.order, frame["ra"].to_numpy(np.float64), frame["dec"].to_numpy(np.float64)),
                                   return_counts=True)
        return Sized((pixels, counts), int(pixels.nbytes + counts.nbytes))

    def density(self, parts: list) -> pd.DataFrame:
        """The density frame (as the catalog's own overview) of the counts read so far."""
        parts = [p for p in parts if p is not None]
        pixels = np.concatenate([p[0] for p in parts]) if parts else np.array([], dtype=np.int64)
        counts = np.concatenate([p[1] for p in parts]) if parts else np.array([], dtype=np.int64)
        # Partitions never share a pixel of an order at least as fine as theirs, but coarser
        # orders can: sum per pixel.
        unique, where = np.unique(pixels, return_inverse=True)
        return density_frame(self.order, unique, np.bincount(where, weights=counts, minlength=len(unique)).astype(np.int64))
