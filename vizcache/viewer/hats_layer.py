"""What a SkyMap draws of a HATS catalog: density zoomed out, the rows of the partitions in view zoomed in.

Zoomed out, the map shows the catalog's point-count skymap (one point per non-empty HEALPix
pixel, coloured by rows per square degree: no row is read). When the partitions overlapping
the view hold at most ``max_points`` rows, those partitions are read — each one cache entry
under the configured policy, in parallel, single-flight across sessions — and their rows
replace the density. Panning back over cached partitions is a cache hit per partition.

A filter (SNR, redshift) on a view too wide for rows cannot use the skymap, which counts every
row: the partitions are then read (only the filtered columns, with ra and dec), in view first,
and the rows passing are counted per skymap pixel — one small cache entry per partition and
filter. Served, this runs on a thread with a progress bar, the map filling in as counts come.
"""

from __future__ import annotations

import threading
import time
from functools import partial

import pandas as pd
import panel as pn
import param

from ..catalogs.sky_boxes import (
    box_from_allsky,
    partition_rows_in_view,
    partitions_in_view,
)
from ..catalogs.source import OVERVIEW_ORDER, Catalog
from .filters import RowFilter
from .partitions import ClusterCounts, ClusterPartitions, FilteredCounts, PartitionLoader
from .settings import ViewerSettings

DENSITY = "density"
_PARTIAL = "part of a frame still being read"


class HatsLayer(param.Parameterized):
    """The rows of a HATS catalog a view needs, through the shared cache.

    >>> layer = HatsLayer(runtime.cache, catalog)          # catalog: a HATS Catalog (catalog.hats set)
    >>> frame = layer.frame_for("RA/Dec", (40, 50), (-5, 5))  # None when what is shown does not change
    """

    max_points = param.Integer(default=ViewerSettings.param.max_points.default, bounds=ViewerSettings.param.max_points.bounds,
                               doc="Views whose partitions hold at most this many rows show the rows; wider views show the skymap density.")
    workers = param.Integer(default=4, bounds=(1, 32), doc="Partitions read at the same time when a view needs several.")
    draw_every = param.Number(default=0.5, bounds=(0.0, 10.0),
                              doc="Served: seconds between draws of the partitions read so far while a view's others are read.")
    partitions_shown = param.Integer(default=0, bounds=(0, None), constant=True,
                                     doc="Partitions whose rows are on the map now (0: the density map is shown).")

    def __init__(self, cache, catalog: Catalog, tier=None, **params) -> None:
        super().__init__(**params)
        self.catalog = catalog
        self.tier = tier  # the [dask] data tier: filtered counts on its cluster (None: on this process's threads)
        self.hats = catalog.hats
        self.loader = (PartitionLoader(cache, self.hats, workers=self.workers) if tier is None
                       else ClusterPartitions(tier, cache, self.hats, workers=self.workers))
        self._shown: object = DENSITY  # DENSITY, a RowFilter (its density), the frozenset of partitions whose rows are shown, or _PARTIAL
        self._pending: object = None  # served: the partitions being read on a thread
        self._failed: object = None  # what the last read failed for: not read again while it is what the view wants
        self._before_partial: tuple | None = None  # (_shown, frame) before a read's partial draws; dropped once shown

    def box(self, projection: str, x_range, y_range):
        """The view as an RA/Dec box, or None for a view that misses the sky."""
        if projection == "all-sky":
            return box_from_allsky(x_range, y_range)
        return tuple(x_range), tuple(y_range)

    def wanted(self, projection: str, x_range, y_range, row_filter: RowFilter | None = None) -> tuple[object, list]:
        """What to draw for a view, and the partitions to read for it, in load order.

        DENSITY (the skymap), a ``RowFilter`` (the density of the rows it passes: every partition,
        those in view first), or a frozenset of partitions (their rows).
        """
        box = self.box(projection, x_range, y_range)
        pixels = partitions_in_view(self.hats, *box) if box is not None else []
        if pixels and partition_rows_in_view(self.hats, pixels) <= self.max_points:
            return frozenset(pixels), sorted(pixels, key=lambda p: (p.order, p.pixel))
        row_filter = row_filter.only(self.hats.mapping) if row_filter is not None else None
        if row_filter is None or not row_filter.narrows:  # no filter narrows a column this catalog has: the skymap
            return DENSITY, []
        in_view = set(pixels)
        return row_filter, sorted(self.hats.partitions, key=lambda p: (p not in in_view, p.order, p.pixel))

    def _counts(self, row_filter: RowFilter) -> FilteredCounts:
        if self.tier is not None:
            return ClusterCounts(self.tier, self.loader.cache, self.hats, OVERVIEW_ORDER, row_filter.columns(), row_filter.mask,
                                 row_filter.signature())
        return FilteredCounts(self.loader.cache, self.hats, OVERVIEW_ORDER, row_filter.columns(), row_filter.mask,
                              row_filter.signature(), workers=self.workers)

    def frame_for(self, projection: str, x_range, y_range, progress=None, row_filter: RowFilter | None = None) -> pd.DataFrame | None:
        """The frame to draw for this view, or None when it is what is already drawn."""
        want, pixels = self.wanted(projection, x_range, y_range, row_filter)
        if want == self._shown:
            return None
        frame = self._frame(want, pixels, progress)
        self._mark_shown(want, pixels)
        return frame

    def _loader(self, want) -> PartitionLoader:
        return self._counts(want) if isinstance(want, RowFilter) else self.loader

    def _frame(self, want, pixels: list, progress=None) -> pd.DataFrame:
        if want == DENSITY:
            return self.catalog.data
        return self._assemble(want, self._loader(want).load(pixels, progress))

    def _assemble(self, want, parts: list) -> pd.DataFrame:
        """One frame of what the partitions read so far give (None for those still being read)."""
        if isinstance(want, RowFilter):
            return self._counts(want).density(parts)
        frames = [f for f in parts if f is not None]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def _mark_shown(self, want, pixels: list) -> None:
        self._shown, self._before_partial = want, None  # the frame shown before is not held any longer
        with param.edit_constant(self):
            self.partitions_shown = len(pixels) if isinstance(want, frozenset) else 0

    @classmethod
    def attach(cls, skymap, catalog: Catalog) -> HatsLayer | None:
        """Follow ``skymap``'s view while it shows ``catalog`` (a HATS one; None and nothing for others)."""
        if skymap.hats is not None:
            skymap.hats.detach(skymap)
        if catalog.hats is None:
            return None
        layer = cls(skymap.runtime.cache, catalog, tier=skymap.runtime.data_tier, max_points=skymap.runtime.config.viewer.max_points)
        layer.track(skymap)
        return layer

    def track(self, skymap) -> None:
        """Follow ``skymap`` after each of its view updates: when the view needs other rows, swap the
        frame; the swap's own view update then finds nothing to change."""
        self._watcher = skymap.param.watch(lambda _event: self.follow(skymap), "view")

    def detach(self, skymap) -> None:
        """Stop following ``skymap`` (another catalog is shown): a read on a thread stops, and draws nothing."""
        skymap.param.unwatch(self._watcher)
        if self._pending is not None:
            self._pending = None
            self._report(skymap, None, 0, 0)

    def _view(self, skymap):
        """(projection, x_range, y_range) of the map now, or None before its first layout."""
        ranges = skymap.view_ranges
        return None if ranges is None else (skymap.projection, *ranges)

    def follow(self, skymap) -> bool:
        """Replace ``skymap``'s frame when its view needs other rows; True when it did now.

        Served, partitions that must be read are read on a thread, so the server keeps answering
        every session meanwhile (the map shows its spinner); the rows are shown when all are in,
        unless the view has moved on by then.
        """
        view, row_filter = self._view(skymap), skymap.row_filter()
        if view is None and row_filter.narrows:
            # Before the plot's first range event the map shows its whole extent: a filter set
            # now (a slider, a shared URL) is counted for that.
            view = (skymap.projection, *skymap.extents())
        if view is None:
            return False
        want, pixels = self.wanted(*view, row_filter)
        if want == self._pending or want == self._failed:  # under way, or failed: not again until the view moves on
            return False
        self._failed = None
        if want == self._shown:
            if self._pending is not None:  # back to what is shown (a filter reverted): stop the read for the other
                self._pending = None
                skymap.show_loading(False)
                self._report(skymap, None, 0, 0)
            return False
        reads = want != DENSITY and self._loader(want).cached(pixels) < len(pixels)
        doc = pn.state.curdoc
        if reads and skymap.served and doc is not None and doc.session_context is not None:
            self._pending = want
            skymap.show_loading(True)
            self._report(skymap, want, 0, len(pixels))
            threading.Thread(target=self._read_then_show, args=(skymap, doc, want, pixels), name="vizcache-partitions",
                             daemon=True).start()
            return False
        self._pending = None  # a read on a thread for another view is superseded: it stops, and draws nothing
        skymap.show_loading(reads)  # a spinner only for real reads
        try:
            frame = self._frame(want, pixels)
        except Exception as exc:  # a bad partition file: say so, keep what is shown
            self._failed = want
            skymap.notify(f"Catalog {self.catalog.name!r}: the partitions in view could not be read: {exc}")
            return False
        finally:
            skymap.show_loading(False)
        self._show(skymap, want, pixels, frame)
        return True

    def _show(self, skymap, want, pixels: list, frame: pd.DataFrame) -> None:
        self._report(skymap, want, len(pixels), len(pixels))  # nothing left to count: hidden
        self._mark_shown(want, pixels)
        skymap.replace_frame(frame)  # the view (histograms, table) follows

    def _read_then_show(self, skymap, doc, want, pixels: list) -> None:
        last_draw = time.monotonic()

        def progress(done: int, total: int, frames: list) -> None:
            nonlocal last_draw
            if self._pending != want:
                raise _Superseded  # the view or the filter has moved on: stop reading for this one
            if done < total and time.monotonic() - last_draw >= self.draw_every:  # draw what is ready so far
                last_draw = time.monotonic()
                ready = self._assemble(want, frames)
                doc.add_next_tick_callback(partial(_with_curdoc, doc, partial(self._show_ready, skymap, want, ready, done, total)))

        try:
            frame, error = self._frame(want, pixels, progress), None
        except _Superseded:
            return
        except Exception as exc:
            frame, error = None, exc

        def show() -> None:  # on the server's loop, with the document locked
            if self._pending != want:
                return  # a newer view's read has taken over
            self._pending = None
            skymap.show_loading(False)
            self._report(skymap, want, len(pixels), len(pixels))  # done: hidden
            if error is not None:
                self._failed = want
                skymap.notify(f"Catalog {self.catalog.name!r}: the partitions in view could not be read: {error}")
                if self._shown is _PARTIAL and self._before_partial is not None:  # part of what failed is drawn: put back what was
                    (self._shown, before), self._before_partial = self._before_partial, None
                    skymap.replace_frame(before)
                return
            view = self._view(skymap)
            if view is not None and self.wanted(*view, skymap.row_filter())[0] != want:
                self.follow(skymap)  # the view moved while reading: follow it from here (the reads are cached)
                return
            self._show(skymap, want, pixels, frame)

        doc.add_next_tick_callback(partial(_with_curdoc, doc, show))


    def _show_ready(self, skymap, want, ready: pd.DataFrame, done: int, total: int) -> None:
        """Part of a view's rows, while the rest is read (the spinner stays)."""
        if self._pending == want:
            if self._shown is not _PARTIAL:  # kept to put back should the rest fail
                self._before_partial = (self._shown, skymap.frame)
            self._shown = _PARTIAL  # what the map shows is none of the wanted frames: any view's own frame replaces it
            skymap.replace_frame(ready)
            self._report(skymap, want, done, total)

    def _report(self, skymap, want, done: int, total: int) -> None:
        """Progress under the map while a filtered density is counted (hidden otherwise and when done)."""
        if isinstance(want, RowFilter) and done < total:
            skymap.progress.show(done, total, f"Filtering all {self.hats.total_rows:,} rows at this zoom: {done} of {total} partitions "
                                              "counted. The map fills in as they come; zoom in to see the rows themselves.")
        else:
            skymap.progress.hide()


class _Superseded(Exception):
    """Raised in a reading thread whose view is no longer wanted."""


def _with_curdoc(doc, callback) -> None:
    """Run ``callback`` as Panel's own scheduled callbacks run: with ``doc`` as the current document."""
    from panel.io.state import set_curdoc

    with set_curdoc(doc):
        callback()
