"""SkyMap: every point of a catalog, rasterized with datashader, with linked histograms and a table.

The map is a plain Bokeh figure (sky_figure.py) whose image the server replaces when the view,
the catalog or a filter changes. Colour map, scaling and opacity are applied in the browser, so
changing them re-colours the image it has instead of re-aggregating.
"""

from __future__ import annotations

import io
import itertools
import logging
import time

import numpy as np
import pandas as pd
import panel as pn
import param

from .filters import RowFilter
from .hats_layer import DENSITY, HatsLayer
from .markers import MARKER_LIMIT, marker_data
from .raster import Raster, empty, rasterize
from .runtime import ViewerRuntime
from .sky_figure import SkyFigure
from .table_rows import CSV_MAX_ROWS, TABLE_FORMATTERS, RowOrder, for_display, table_columns, write_csv
from .text import as_markdown

log = logging.getLogger(__name__)

#: color-by choice -> (aggregation, column for clusters, column for members); None column = density
COLOR_BY = {
    "density": ("count", None, None),
    "mean redshift": ("mean", "z", "z_phot"),
    "mean SNR": ("mean", "snr", None),
    "richness": ("mean", "richness", None),
}
PROJECTIONS = {"RA/Dec": ("ra", "dec"), "all-sky": ("x_allsky", "y_allsky")}
# Every catalog shares one stable frame per projection: the map starts at it, and no view aggregates beyond it.
EXTENTS = {"ra": (0.0, 360.0), "dec": (-90.0, 90.0), "x_allsky": (-2.0 * 2**0.5, 2.0 * 2**0.5), "y_allsky": (-(2**0.5), 2**0.5)}
LABELS = {"ra": "RA [deg]", "dec": "Dec [deg]", "x_allsky": "Hammer-Aitoff x (RA increases to the left)", "y_allsky": "Hammer-Aitoff y"}
PAGE_ROWS = 12
WIDTH, HEIGHT = 900, 450


def _is_dask(frame) -> bool:
    return type(frame).__module__.startswith("dask")


class _Histogram:
    """A histogram of one column of the rows in view, as a Bokeh figure whose bars are replaced in place."""

    def __init__(self, columns: tuple[str, ...], label: str, bins: int = 40) -> None:
        from bokeh.models import ColumnDataSource, HoverTool, NumeralTickFormatter, Range1d
        from bokeh.plotting import figure

        self.columns, self.label, self.bins = columns, label, bins
        self.source = ColumnDataSource({"left": [], "right": [], "count": []})
        # The y-range is set from the counts on every update: a few hundred rows after a filter or zoom
        # get bars as tall as 25,000 did, from 0 (no padding below it).
        self.figure = figure(height=200, sizing_mode="stretch_width", toolbar_location=None, x_axis_label=label, y_axis_label="rows in view",
                             y_range=Range1d(0, 1))
        self.figure.yaxis.formatter = NumeralTickFormatter(format="0,0")  # 600,000, not 6.000e+5
        self.figure.quad(left="left", right="right", bottom=0, top="count", source=self.source, color="#3f51b5", line_color=None)
        self.figure.add_tools(HoverTool(tooltips=[(label, "@left{0.00} – @right{0.00}"), ("rows", "@count{0,0}")]))
        self.figure.title.text_font_size = "10pt"

    def show(self, frame, mask) -> None:
        column = next((c for c in self.columns if frame is not None and c in frame.columns), None)
        if column is None:
            self.source.data = {"left": [], "right": [], "count": []}
            self.figure.title.text = f"{self.label}: " + ("not counted (out-of-core catalog)" if frame is None else "not in this catalog")
            return
        values = frame[column].to_numpy()
        values = values[mask] if mask is not None else values
        values = values[np.isfinite(values)]
        counts, edges = np.histogram(values, bins=self.bins) if len(values) else (np.zeros(self.bins), np.linspace(0, 1, self.bins + 1))
        self.source.data = {"left": edges[:-1], "right": edges[1:], "count": counts}
        self.figure.y_range.update(start=0, end=1.08 * max(1, counts.max()))
        self.figure.title.text = f"{self.label}: {len(values):,} rows in view"  # short: it fits a 350-px histogram


class MapRange(param.Parameterized):
    """The map's view as the browser last reported it (None before its first pan or zoom)."""

    x_range = param.Range(default=None, allow_None=True, doc="x from low to high, in the projection's units (its extent bounds it).")
    y_range = param.Range(default=None, allow_None=True, doc="y from low to high, in the projection's units (its extent bounds it).")

    def event(self, **ranges) -> None:
        """New ranges, together: watchers of both run once."""
        self.param.update(**ranges)


class SkyMap(pn.viewable.Viewer):
    """A datashaded sky map of the configured catalogs, switched through the shared cache.

    >>> SkyMap(runtime=runtime, catalog="AMICO", color_by="mean SNR")
    """

    catalog = param.Selector(default=None, objects=[], doc="Catalog shown on the map (any configured catalog).")
    color_by = param.Selector(default="density", objects=list(COLOR_BY), label="Colour by", doc="What a pixel's colour says about the points in it.")
    snr_range = param.Range(default=(0.0, 60.0), bounds=(0.0, 60.0), label="SNR range", doc="Clusters with SNR in this range are shown.")
    z_range = param.Range(default=(0.0, 3.0), bounds=(0.0, 3.0), label="Redshift range", doc="Points with (photometric) redshift in this range are shown.")
    keep_unknown_z = param.Boolean(default=True, label="keep rows without a redshift",
                                   doc="Rows without a (photometric) redshift stay in view when the redshift range is narrowed.")
    projection = param.Selector(default="RA/Dec", objects=list(PROJECTIONS), doc="RA/Dec (RA increasing to the left) or all-sky Hammer-Aitoff.")
    show_members = param.Boolean(default=False, doc="Overlay the member galaxies catalog under the clusters.")
    cmap = param.Selector(default="fire", objects=["fire", "kbc", "viridis", "inferno", "bmy"], label="Colour map", doc="Colormap; changing it does not re-aggregate.")
    color_scaling = param.Selector(default="log", objects=["log", "eq_hist", "linear"], label="Colour scaling",
                                   doc="Colour normalisation, done in the browser: eq_hist shows most structure but costs "
                                       "~280 ms per redraw there; log is the fast default. Changing it does not re-aggregate.")
    opacity = param.Number(default=1.0, bounds=(0.1, 1.0), step=0.05, doc="Opacity of the catalog layer; changing it does not re-aggregate.")
    pixel_hover = param.Boolean(default=False, label="pixel hover names its brightest cluster",
                                doc="The map's hover names each pixel's brightest cluster (cluster catalogs under 2M rows). Off by "
                                    "default: it costs every session several extra full-size images; zoomed in, the markers name "
                                    "each cluster anyway.")
    last_switch_seconds = param.Number(default=None, allow_None=True, bounds=(0.0, 3600.0), constant=True,
                                       doc="Seconds from the last catalog switch to its new aggregate.")
    # Frames are watched through version numbers: comparing or hashing a 10M-row frame on every
    # switch costs seconds (as HoloViews' memoization did), an integer nothing.
    frame_version = param.Integer(default=0, bounds=(0, None), precedence=-1, doc="Bumped whenever `frame` changes.")
    members_version = param.Integer(default=0, bounds=(0, None), precedence=-1, doc="Bumped whenever `members_frame` changes.")
    view_version = param.Integer(default=0, bounds=(0, None), precedence=-1, doc="Bumped whenever `view` changes.")
    markers_version = param.Integer(default=0, bounds=(0, None), precedence=-1,
                                    doc="Bumped when the markers may change: a view with markers, or the first without after one.")
    page = param.Integer(default=1, bounds=(1, None), precedence=-1, doc="Page of the table of rows in view (1 = first).")
    aggregation = param.Selector(default="count", objects=["count", "mean"], precedence=-1, doc="Datashader reduction for color_by.")

    def __init__(self, runtime: ViewerRuntime, notify=None, served: bool | None = None, **params) -> None:
        self.runtime = runtime
        if served is None:  # in a server session, view updates wait a tick so the map goes out first
            served = pn.state.curdoc is not None and pn.state.curdoc.session_context is not None
        self._served = served
        names = list(runtime.sources)
        catalog = params.pop("catalog", runtime.config.viewer.catalog or (names[0] if names else None))
        self._notify = notify or (lambda message: log.error("%s", message))
        self._shown: str | None = None
        self.frame = None  # the shown catalog's rows (pandas or dask DataFrame)
        self.members_frame = None  # the member overlay's rows, when shown
        self.view = None  # (frame, boolean mask or None): rows in view and passing the filters
        self._switch_started: float | None = None
        self._view_pending = False
        self._markers_drawn = False
        super().__init__(**params)
        self.param.catalog.objects = names  # this instance's copy: another config may have other catalogs
        self._build()
        with param.parameterized.discard_events(self):
            self.catalog = catalog
        self._switch()
        if self.frame is None:  # the first catalog failed: an empty map, drawn linear
            self._draw()
        if self.show_members:  # asked for at construction: param runs no watcher for that
            self._load_members()
        self._schedule_view_update()

    # -- loading through the cache ---------------------------------------------------

    @param.depends("catalog", watch=True)
    def _switch(self) -> None:
        if self.catalog is None or self.catalog == self._shown:
            return
        self._switch_started = time.perf_counter()
        # A spinner re-styles the whole pane (~120 ms in the browser): only for real loads.
        self._map.loading = not self.runtime.is_cached(self.catalog)
        try:
            catalog = self.runtime.load(self.catalog)
        except Exception as exc:  # any failure is shown in the page; the other catalogs keep working
            self._switch_started = None
            message = f"Catalog {self.catalog!r} could not be loaded: {exc}"
            if self._shown is not None:
                self._notify(message)
                self.catalog = self._shown
            else:  # nothing on the map yet: say so where the map is, and offer the others
                others = [n for n in self.param.catalog.objects if n != self.catalog]
                self._failure.object = as_markdown(message) + "\n\n" + as_markdown(f"Choose another catalog: {', '.join(others) or 'none configured'}")
                self._failure.visible = True
            return
        finally:
            self._map.loading = False
        self._failure.visible = False
        self._shown = self.catalog
        self.kind = catalog.kind
        self.frame = catalog.data
        self._hats = HatsLayer.attach(self, catalog)  # a HATS catalog: rows of the partitions in view, else density
        self.frame_version += 1
        if pn.state.location is not None:
            pn.state.location.update_query(catalog=self.catalog)

    @param.depends("show_members", watch=True)
    def _load_members(self) -> None:
        name = self.runtime.config.viewer.members
        try:
            self.members_frame = self.runtime.load(name).data if name and self.show_members else None
        except Exception as exc:
            self._notify(f"Member galaxies ({name!r}) could not be loaded: {exc}")
            self.show_members = False
        self.members_version += 1
        if name is None and self.show_members:
            self._notify("No members catalog is configured: set [viewer] members in the config")
            self.show_members = False

    @param.depends("color_by", "frame_version", watch=True)
    def _aggregation(self) -> None:
        self.aggregation = "count" if self._color_column() is None else "mean"

    def _color_column(self) -> str | None:
        if self.frame is not None and DENSITY in self.frame.columns:  # a HATS skymap: mean rows per deg² of its pixels
            return DENSITY
        _, for_clusters, for_members = COLOR_BY[self.color_by]
        column = for_members if getattr(self, "kind", "clusters") == "members" else for_clusters
        return column if self.frame is not None and column in self.frame.columns else None

    # -- the pipeline ----------------------------------------------------------------

    def row_filter(self, snr_range=None, z_range=None) -> RowFilter:
        """The filters now (or with these ranges), as a value a reading thread can keep."""
        ranges = {"snr": snr_range or self.snr_range, "z": z_range or self.z_range}
        return RowFilter.of(ranges, {"snr": self.param.snr_range.bounds, "z": self.param.z_range.bounds}, self.keep_unknown_z)

    def _mask(self, frame, snr_range, z_range):
        """Rows passing the filters, or None when no filter narrows anything (so nothing is copied)."""
        return self.row_filter(snr_range, z_range).mask(frame)

    def _filtered(self, frame, snr_range, z_range):
        mask = self._mask(frame, snr_range, z_range)
        return frame if mask is None else frame[mask]

    def extents(self, projection: str | None = None) -> tuple[tuple[float, float], tuple[float, float]]:
        """The whole map's (x, y) extent in a projection (default: the one shown)."""
        x, y = PROJECTIONS[projection or self.projection]
        return EXTENTS[x], EXTENTS[y]

    def _view_box(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The map's ranges, low to high; its whole extent before the first pan or zoom."""
        ranges = (self._range.x_range, self._range.y_range)
        return ranges if all(r is not None and np.isfinite(r).all() for r in ranges) else self.extents()

    def _rasterize(self, frame, column: str | None = None, brightest_by: str | None = None, snr_range=None) -> Raster:
        x, y = PROJECTIONS[self.projection]
        if frame is None:
            return empty(*self._view_box())
        rows = self._filtered(frame, snr_range or self.snr_range, self.z_range)
        return rasterize(rows, x, y, *self._view_box(), self.extents(), column=column, width=WIDTH, height=HEIGHT, brightest_by=brightest_by)

    def _pixel_hover_column(self) -> str | None:
        # The brightest cluster of a pixel is 25x dearer than a count at 10M points: only for cluster-sized
        # catalogs, and not for Dask frames (len() would read every file).
        frame = self.frame
        wanted = self.pixel_hover and frame is not None and not _is_dask(frame) and "snr" in frame.columns and len(frame) < 2_000_000
        return "snr" if wanted else None

    def _on_figure(self, change) -> None:
        """``change(figure)``: at once before the map is in a page (or unserved), else on the server's
        loop, where its document is locked (watchers also run on Panel's threads)."""
        figure = self._figure
        doc = figure.figure.document
        if self._served and doc is not None:
            doc.add_next_tick_callback(lambda: change(figure))
        else:
            change(figure)

    def _newest(self, layer: str):
        """A check that this change of ``layer`` is still its newest. Taken before reading the state the
        change is made of, so the last one taken saw the newest state: changes made on two of Panel's
        threads can reach the server's loop in either order."""
        ticket = next(self._tickets)  # one C call: no two threads get the same
        self._newest_ticket[layer] = ticket
        return lambda: self._newest_ticket[layer] == ticket

    def _draw(self, *_events) -> None:
        """The catalog's image for the view and filters now."""
        newest = self._newest("image")
        raster = self._rasterize(self.frame, self._color_column(), self._pixel_hover_column())
        title = f"{self._shown}: {self.color_by}" if self._shown else ""  # Bokeh draws titles as text, never HTML

        def show(figure: SkyFigure) -> None:
            if not newest():
                return  # a newer image is on its way
            figure.show(raster)
            figure.figure.title.text = title
            self._restyle(figure=figure)

        self._on_figure(show)
        if self._switch_started is not None:
            with param.edit_constant(self):
                self.last_switch_seconds = time.perf_counter() - self._switch_started
            self._switch_started = None

    def _restyle(self, *_events, figure: SkyFigure | None = None) -> None:
        def restyle(figure: SkyFigure) -> None:
            # Read when applied, so the last applied is the newest whatever order changes arrive in.
            # With no catalog (the first one failed) the image is empty: drawn linear, which needs no limits.
            scaling = self.color_scaling if self.frame is not None else "linear"
            figure.restyle(self.cmap, scaling, self.opacity)

        if figure is not None:
            restyle(figure)
        else:
            self._on_figure(restyle)

    def _draw_members(self, *_events) -> None:
        newest = self._newest("members")  # before the check below: switched off, an image being made is outdated
        if self.members_frame is None and not self._members_drawn:
            return  # no members shown, none to take away: nothing to send on every pan
        raster = None if self.members_frame is None else self._rasterize(self.members_frame, snr_range=self.param.snr_range.bounds)
        self._members_drawn = raster is not None
        self._on_figure(lambda figure: newest() and figure.show_members(raster))

    def _draw_markers(self, *_events) -> None:
        # Few rows in view: each one a marker with its own hover (see markers.py).
        data, rows = marker_data(self.view, list(PROJECTIONS[self.projection]))
        self._on_figure(lambda figure: figure.show_markers(data, rows))

    def move_to(self, x_range, y_range) -> None:
        """Show plot ranges (x as drawn: backwards in RA/Dec); the image and the view follow."""
        self._on_figure(lambda figure: figure.move_to(x_range, y_range))
        self._range.event(x_range=tuple(sorted(x_range)), y_range=tuple(sorted(y_range)))

    def _select(self, rows) -> None:
        # The rows of the markers selected (None: none); the table keeps those still in view.
        self._order.select(rows, self.view_version)
        self._fill_table()

    def _highlight_row(self, event) -> None:
        # A click on a table row: ring that cluster on the map.
        newest = self._newest("highlight")
        rows = self._order(self.view, self.view_version, self._table.sorters)
        position = (self.page - 1) * PAGE_ROWS + event.row
        if rows is not None and 0 <= position < len(rows):
            x, y = PROJECTIONS[self.projection]
            row = self.view[0].iloc[rows[position]]
            point = {x: [float(row[x])], y: [float(row[y])]}
            self._on_figure(lambda figure: newest() and setattr(figure.highlighted, "data", point))

    def _new_figure(self) -> SkyFigure:
        x, y = PROJECTIONS[self.projection]

        # Events of a figure since replaced (a projection change) are dropped: its ranges are in the
        # other projection's units, and its markers are gone.
        def ranges(x_range, y_range) -> None:
            if figure is self._figure:
                self._range.event(x_range=x_range, y_range=y_range)

        def select(rows) -> None:
            if figure is self._figure:
                self._select(rows)

        figure = SkyFigure(self.projection, (x, y), self.extents(), (LABELS[x], LABELS[y]), ranges, select)
        return figure

    @param.depends("projection", watch=True)
    def _reproject(self) -> None:
        # A new figure (new axes) whose view starts at the whole extent: the old ranges are in other units.
        with param.discard_events(self._range):
            self._range.param.update(x_range=None, y_range=None)
        self._figure = self._new_figure()
        self._draw()
        self._draw_members()
        self._map_pane.object = self._figure.figure

    def _build(self) -> None:
        self._range = MapRange()
        self._tickets, self._newest_ticket = itertools.count(1), {}  # see _newest
        self._members_drawn = False
        self._figure = self._new_figure()
        self._map_pane = pn.pane.Bokeh(self._figure.figure, sizing_mode="stretch_both", min_height=420)
        # The spinner goes on a wrapper: `loading` on a Bokeh pane syncs the themed figure's stylesheets
        # back into the pane, which rejects them (Panel 1.9).
        self._map = pn.Column(self._map_pane, sizing_mode="stretch_both", min_height=420,
                              css_classes=["vizcache-skymap"])  # how tests and benchmarks find the map
        # The image first: watchers run, and queue their changes for the page, in the order they are added.
        self.param.watch(self._draw, ["frame_version", "snr_range", "z_range", "keep_unknown_z", "color_by", "pixel_hover"])
        self._range.param.watch(self._draw, ["x_range", "y_range"])
        self.param.watch(self._restyle, ["cmap", "color_scaling", "opacity"])
        self.param.watch(self._draw_members, ["members_version", "z_range", "keep_unknown_z"])
        self._range.param.watch(self._draw_members, ["x_range", "y_range"])
        self.param.watch(self._schedule_view_update, ["frame_version", "snr_range", "z_range", "keep_unknown_z", "projection"])
        self._range.param.watch(self._schedule_view_update, ["x_range", "y_range"])
        self.param.watch(self._draw_markers, "markers_version")
        self._histogram_plots = []  # made with what is below the map (_below_the_map)
        self._below = None
        self.param.watch(self._fill_histograms, "view_version")
        # The table holds one page: the server slices the view, so a session never copies (or sends)
        # the rows in view, however many there are.
        self._table = pn.widgets.Tabulator(pd.DataFrame(), disabled=True, show_index=False, sizing_mode="stretch_width", height=400,
                                           formatters=TABLE_FORMATTERS)
        self._order = RowOrder()
        self._table.param.watch(self._show_page, "sorters")
        self._table.on_click(self._highlight_row)
        self._pager = pn.widgets.IntInput(name="page", value=1, start=1, end=1, width=110)
        self._pager.link(self, value="page")
        self._previous = pn.widgets.Button(name="◀", width=40, margin=(23, 2, 5, 5))
        self._next = pn.widgets.Button(name="▶", width=40, margin=(23, 5, 5, 2))
        self._previous.on_click(lambda _: setattr(self._pager, "value", max(1, self._pager.value - 1)))
        self._next.on_click(lambda _: setattr(self._pager, "value", min(self._pager.end, self._pager.value + 1)))
        self.param.watch(self._show_page, "page")
        self._table_title = pn.pane.Markdown("", margin=(0, 10))
        self._failure = pn.pane.Alert("", alert_type="danger", visible=False, sizing_mode="stretch_width")
        # Long work for a view (a HATS catalog's filtered density): how far it is.
        self._progress_text = pn.pane.Markdown("", visible=False, margin=(0, 10))
        self._progress = pn.indicators.Progress(value=0, max=1, visible=False, sizing_mode="stretch_width", height=12)
        self.param.watch(self._fill_table, "view_version")
        self._download = pn.widgets.FileDownload(callback=self._csv, filename="catalog_in_view.csv", label="Download CSV",
                                                 color="primary", width=160)

    # -- what is in view -------------------------------------------------------------

    def _schedule_view_update(self, *_events) -> None:
        # Served, the map's new image goes out first; histograms and table follow a tick later, once
        # for however many changes (a switch moves the frame and the ranges together).
        if not self._served:
            self._update_view()
        elif not self._view_pending:
            self._view_pending = True
            pn.state.execute(self._scheduled_view_update, schedule=True)

    def _scheduled_view_update(self) -> None:
        self._view_pending = False
        self._update_view()

    def _update_view(self, *_events) -> None:
        frame = self.frame
        if frame is None or _is_dask(frame):
            self.view = None
            self._follow_markers()
            self.view_version += 1
            return
        mask = self._mask(frame, self.snr_range, self.z_range)
        x, y = PROJECTIONS[self.projection]
        ranges = (self._range.x_range, self._range.y_range)
        if all(r is not None and np.isfinite(r).all() for r in ranges):  # the plot sends NaN before its first layout
            (x0, x1), (y0, y1) = map(sorted, ranges)
            in_box = (frame[x] >= x0) & (frame[x] <= x1) & (frame[y] >= y0) & (frame[y] <= y1)
            mask = in_box if mask is None else mask & in_box
        self.view = (frame, None if mask is None else mask.to_numpy())
        self._follow_markers()
        self.view_version += 1

    def _follow_markers(self) -> None:
        # A view too wide for markers after another one has none to send: no empty update per pan or zoom.
        if self.view is None:
            drawn = False
        else:
            frame, mask = self.view
            drawn = (len(frame) if mask is None else int(np.count_nonzero(mask))) <= MARKER_LIMIT
        if drawn or self._markers_drawn:
            self.markers_version += 1
        self._markers_drawn = drawn

    def _fill_histograms(self, *_events) -> None:
        frame, mask = self.view if self.view is not None else (None, None)
        for histogram in self._histogram_plots:
            # Raw Bokeh models change only under their document's lock: from a thread, on the next tick.
            pn.state.execute(lambda histogram=histogram: histogram.show(frame, mask))

    def _fill_table(self, *_events) -> None:
        view = self.view
        if view is None:
            self._table.value = pd.DataFrame()
            self._table_title.object = "Out-of-core (Dask) catalog: no table."
            self._pager.end = 1
            return
        count = len(self._order(view, self.view_version, self._table.sorters))
        what = "selected" if self._order.selecting(self.view_version) else "in view"  # box or lasso on the markers
        self._table_title.object = f"**{count:,} rows {what}**"
        self._download.label = f"CSV: {count:,} {what}" if count <= CSV_MAX_ROWS else f"CSV: first {CSV_MAX_ROWS:,}"
        self._download.description = (f"Download the {count:,} rows {what} in the table's order"
                                      + (f" (the first {CSV_MAX_ROWS:,} of them)" if count > CSV_MAX_ROWS else ""))
        pages = max(1, -(-count // PAGE_ROWS))
        self._pager.end = pages
        if self._pager.value != 1:
            self._pager.value = 1  # shows page 1 through the link
        else:
            self._show_page()

    def _show_page(self, *_events) -> None:
        # Sorting by a header sorts every row in view here (once per view and sort), not just the page.
        rows = self._order(self.view, self.view_version, self._table.sorters)
        if rows is None:
            return
        frame = self.view[0]
        start = (self.page - 1) * PAGE_ROWS
        self._table.value = for_display(frame.iloc[rows[start:start + PAGE_ROWS]][table_columns(frame)]).reset_index(drop=True)

    def _csv(self) -> io.StringIO:
        """The rows in view in the table's order (at most CSV_MAX_ROWS), formulas made inert, cut when asked for."""
        buffer = io.StringIO()
        rows = self._order(self.view, self.view_version, self._table.sorters)
        if rows is not None:
            frame = self.view[0]
            write_csv(frame.iloc[rows[:CSV_MAX_ROWS]][table_columns(frame)], buffer)
        buffer.seek(0)
        return buffer

    # -- layout ----------------------------------------------------------------------

    def controls(self) -> pn.Column:
        # No members catalog configured: no switch that can only fail.
        members = ["show_members"] if self.runtime.config.viewer.members else []
        widgets = pn.Param(self.param, parameters=["catalog", "color_by", "snr_range", "z_range", "keep_unknown_z", "projection", *members, "cmap", "color_scaling", "opacity", "pixel_hover"],
                           widgets={"catalog": {"type": pn.widgets.RadioButtonGroup, "button_type": "primary"},
                                    "projection": {"type": pn.widgets.RadioButtonGroup, "button_type": "primary"},
                                    "keep_unknown_z": pn.widgets.Checkbox, "pixel_hover": pn.widgets.Checkbox,
                                    "show_members": {"type": pn.widgets.Switch, "name": "member galaxies"}},
                           show_name=False, sizing_mode="stretch_width")
        return pn.Column(widgets, sizing_mode="stretch_width")

    def _below_the_map(self) -> pn.Column:
        """Histograms and table, made once (Panel may call a deferred function again)."""
        if self._below is None:
            # Plain Bokeh figures whose data is replaced in place: a HoloViews plot per histogram cost
            # every new session ~100 ms of server time, and every view change a new plot.
            self._histogram_plots = [_Histogram(columns, label) for columns, label in ((("z", "z_phot"), "redshift"), (("snr",), "SNR"))]
            self._fill_histograms()
            self._below = pn.Column(
                pn.Row(*(pn.pane.Bokeh(h.figure, sizing_mode="stretch_width", height=210) for h in self._histogram_plots),
                       sizing_mode="stretch_width"),
                pn.Row(self._table_title, pn.layout.HSpacer(), self._previous, self._pager, self._next, self._download,
                       sizing_mode="stretch_width"),
                self._table,
                sizing_mode="stretch_width",
            )
        return self._below

    def __panel__(self):
        # What is below the map goes out once the page is in the browser (defer_load): a new
        # session's page, with its map, is sent without waiting for the histograms and the table.
        return pn.Column(
            self._failure,
            self._progress_text,
            self._progress,
            self._map,
            pn.panel(self._below_the_map, defer_load=True, sizing_mode="stretch_width", min_height=600),
            sizing_mode="stretch_both",
        )
