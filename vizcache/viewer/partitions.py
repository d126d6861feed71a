"""HATS partitions through the cache: each partition one entry, loaded in parallel, single-flight;
and filtered counts per partition for a zoomed-out view. The viewer's cache client for HATS
catalogs (the catalogs package reads partitions; it knows nothing of the cache).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np
import pandas as pd

from ..cache import Sized
from ..cache_key import CacheKey
from ..catalogs.hats import HatsCatalog, density_frame, healpix_of, pixel_key
from ..catalogs.lsdb_tier import completed


class PartitionLoader:
    """Partitions through a cache: one entry per partition, loaded in parallel, single-flight.

    >>> frames = PartitionLoader(cache, catalog).load(partitions_in_view(catalog, (350, 10), (-5, 5)))
    """

    def __init__(self, cache, catalog: HatsCatalog, workers: int = 4) -> None:
        self.cache = cache
        self.catalog = catalog
        self.workers = workers

    def key(self, pixel) -> CacheKey:
        # The catalog's version is in the key: a re-partitioned catalog never serves stale partitions.
        return CacheKey(self.catalog.name, self.catalog.version, (pixel_key(pixel),))

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


class ClusterPartitions(PartitionLoader):
    """PartitionLoader whose partitions are read on the data tier's Dask cluster through LSDB (catalogs/lsdb_tier.py):
    the same frames and cache keys, the reading and decoding done by the workers, the rows of a view cached here.

    >>> frames = ClusterPartitions(runtime.data_tier, cache, catalog).load(pixels)
    """

    def __init__(self, tier, cache, catalog: HatsCatalog, workers: int = 4) -> None:
        super().__init__(cache, catalog, workers)
        self.tier = tier

    def read(self, pixel) -> Sized:
        frame = self.tier.partition_rows(self.catalog, pixel).result()
        return Sized(frame, int(frame.memory_usage(deep=True).sum()))


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

    def key(self, pixel) -> CacheKey:
        key = super().key(pixel)
        return key._replace(parts=(*key.parts, f"rows per order-{self.order} pixel", self.signature))

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


class ClusterCounts(FilteredCounts):
    """FilteredCounts computed on the data tier's Dask cluster through LSDB (catalogs/lsdb_tier.py): the same
    cache keys and numbers; the partitions not cached go to the workers at once, each cached as it comes back.

    >>> counts = ClusterCounts(runtime.data_tier, cache, catalog, 8, ["z_phot"], keep, "z 0.5-1")
    """

    def __init__(self, tier, cache, catalog: HatsCatalog, order: int, columns: list[str],
                 keep: Callable[[pd.DataFrame], object], signature: str) -> None:
        super().__init__(cache, catalog, order, columns, keep, signature, workers=1)
        self.tier = tier

    def load(self, pixels: list, progress: Callable[[int, int, list], None] | None = None) -> list:
        frames: list = [None] * len(pixels)
        where = {p: i for i, p in enumerate(pixels)}
        held = [p for p in pixels if self.key(p) in self.cache]
        futures = self.tier.pixel_counts(self.catalog, self.order, self.columns, self.keep, [p for p in pixels if p not in set(held)])
        try:
            done = 0
            for pixel in held:  # evicted since the check: counted here, the same numbers
                frames[where[pixel]] = self.cache.get_or_load(self.key(pixel), lambda pixel=pixel: self.read(pixel))
                done += 1
                if progress is not None:
                    progress(done, len(pixels), frames)
            for pixel, future in completed(futures):
                result = future.result()  # (pixels, counts)
                sized = Sized(result, int(result[0].nbytes + result[1].nbytes))
                frames[where[pixel]] = self.cache.get_or_load(self.key(pixel), lambda sized=sized: sized)
                done += 1
                if progress is not None:
                    progress(done, len(pixels), frames)
        except BaseException:
            for future in futures.values():  # a failed count or a caller that gave up: the workers stop too
                future.cancel()
            raise
        return frames
