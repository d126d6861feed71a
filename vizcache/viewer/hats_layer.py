"""What a SkyMap draws of a HATS catalog: density zoomed out, the rows of the partitions in view zoomed in.

Zoomed out, the map shows the catalog's point-count skymap (one point per non-empty HEALPix
pixel, coloured by rows per square degree: no row is read). When the partitions overlapping
the view hold at most ``max_points`` rows, those partitions are read — each one cache entry
under the configured policy, in parallel, single-flight across sessions — and their rows
replace the density. Panning back over cached partitions is a cache hit per partition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import param

from ..catalogs.source import Catalog
from ..catalogs.viewport import PartitionLoader, box_from_allsky, partition_rows_in_view, partitions_in_view

DENSITY = "density"


class HatsLayer(param.Parameterized):
    """The rows of a HATS catalog a view needs, through the shared cache.

    >>> layer = HatsLayer(runtime.cache, catalog)          # catalog: a HATS Catalog (catalog.hats set)
    >>> frame = layer.frame_for("RA/Dec", (40, 50), (-5, 5))  # None when what is shown does not change
    """

    max_points = param.Integer(default=5_000_000, bounds=(1_000, 500_000_000),
                               doc="Views whose partitions hold at most this many rows show the rows; wider views show the skymap density.")
    workers = param.Integer(default=4, bounds=(1, 32), doc="Partitions read at the same time when a view needs several.")
    partitions_shown = param.Integer(default=0, bounds=(0, None), constant=True,
                                     doc="Partitions whose rows are on the map now (0: the density map is shown).")

    def __init__(self, cache, catalog: Catalog, **params) -> None:
        super().__init__(**params)
        self.catalog = catalog
        self.hats = catalog.hats
        self.loader = PartitionLoader(cache, self.hats, workers=self.workers)
        self._shown: object = DENSITY  # DENSITY or the frozenset of partitions whose rows are shown

    def box(self, projection: str, x_range, y_range):
        """The view as an RA/Dec box, or None for a view that misses the sky."""
        if projection == "all-sky":
            return box_from_allsky(x_range, y_range)
        return tuple(x_range), tuple(y_range)

    def wanted(self, projection: str, x_range, y_range) -> tuple[object, list]:
        """(DENSITY or a frozenset of partitions, those partitions in load order) for a view."""
        box = self.box(projection, x_range, y_range)
        if box is None:
            return DENSITY, []
        pixels = partitions_in_view(self.hats, *box)
        rows = partition_rows_in_view(self.hats, pixels)
        if not pixels or rows > self.max_points:
            return DENSITY, []
        return frozenset(pixels), sorted(pixels, key=lambda p: (p.order, p.pixel))

    def frame_for(self, projection: str, x_range, y_range, progress=None) -> pd.DataFrame | None:
        """The frame to draw for this view, or None when it is what is already drawn."""
        want, pixels = self.wanted(projection, x_range, y_range)
        return None if want == self._shown else self._frame(want, pixels, progress)

    def _frame(self, want, pixels: list, progress=None) -> pd.DataFrame:
        if want == DENSITY:
            frame = self.catalog.data
        else:
            frames = self.loader.load(pixels, progress)
            frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        self._shown = want
        with param.edit_constant(self):
            self.partitions_shown = 0 if want == DENSITY else len(pixels)
        return frame

    @classmethod
    def attach(cls, skymap, catalog: Catalog) -> HatsLayer | None:
        """Follow ``skymap``'s view while it shows ``catalog`` (a HATS one; None and nothing for others)."""
        previous = getattr(skymap, "_hats", None)
        if previous is not None:
            skymap.param.unwatch(previous._watcher)
        if catalog.hats is None:
            return None
        layer = cls(skymap.runtime.cache, catalog)
        # After each view update: when the view needs other rows, swap the frame; the swap's own
        # view update then finds nothing to change.
        layer._watcher = skymap.param.watch(lambda _event: layer.follow(skymap), "view_version")
        return layer

    def follow(self, skymap) -> bool:
        """Replace ``skymap``'s frame when its view needs other rows; True when it did."""
        ranges = (skymap._range.x_range, skymap._range.y_range) if skymap._range is not None else (None, None)
        if not all(r is not None and np.isfinite(r).all() for r in ranges):  # before the plot's first layout
            return False
        want, pixels = self.wanted(skymap.projection, *ranges)
        if want == self._shown:
            return False
        skymap._map.loading = want != DENSITY and self.loader.cached(pixels) < len(pixels)  # a spinner only for real reads
        try:
            frame = self._frame(want, pixels)
        finally:
            skymap._map.loading = False
        skymap.frame = frame
        skymap.frame_version += 1
        return True
