"""SkyMap: the sky map's model — catalog, filters, the view and the selection — and the page part made of its views.

SkyMap loads the catalog chosen through the shared cache and keeps the rows in view and passing
the filters (``view``). Its views follow it: the map (map_view.py: datashaded image, members,
markers, highlight), the table with its pager and CSV download (table_view.py) and the histograms
(histograms.py). A HATS catalog's layer (hats_layer.py) replaces the frame when the view needs
other rows, through the small public surface below: ``view_ranges``, ``replace_frame``,
``show_loading``, ``notify`` and ``progress``.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import panel as pn
import param

from .expression import Expression, ExpressionError
from .filters import RowFilter
from .hats_layer import DENSITY, HatsLayer
from .histograms import Histograms
from .map_view import MapView, ProgressReport
from .range_inputs import TypedRange
from .runtime import ViewerRuntime
from .table_view import TableView
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


def is_dask(frame) -> bool:
    return type(frame).__module__.startswith("dask")


def _finite(ranges) -> bool:
    return all(r is not None and np.isfinite(r).all() for r in ranges)  # the plot sends NaN before its first layout


class MapRange(param.Parameterized):
    """The map's view as the browser last reported it (None before its first pan or zoom)."""

    x_range = param.Range(default=None, allow_None=True, doc="x from low to high, in the projection's units (its extent bounds it).")
    y_range = param.Range(default=None, allow_None=True, doc="y from low to high, in the projection's units (its extent bounds it).")


class SkyMap(pn.viewable.Viewer):
    """A datashaded sky map of the configured catalogs, switched through the shared cache.

    >>> SkyMap(runtime=runtime, catalog="AMICO", color_by="mean SNR")
    """

    catalog = param.Selector(default=None, objects=[], doc="Catalog shown on the map (any configured catalog).")
    color_by = param.Selector(default="density", objects=list(COLOR_BY), label="Colour by", doc="What a pixel's colour says about the points in it.")
    snr_range = param.Range(default=(0.0, 60.0), bounds=(0.0, 60.0), label="SNR range", doc="Clusters with SNR in this range are shown.")
    z_range = param.Range(default=(0.0, 3.0), bounds=(0.0, 3.0), label="Redshift range",
                          doc="Points with (photometric) redshift in this range are shown.")
    keep_unknown_z = param.Boolean(default=True, label="keep rows without a redshift",
                                   doc="Rows without a (photometric) redshift stay in view when the redshift range is narrowed.")
    where = param.String(default="", label="Where (e.g. snr > 6 & z < 0.5)",
                         doc="A TOPCAT-style condition over the catalog's columns (expression.py): rows for which it holds are shown.")
    projection = param.Selector(default="RA/Dec", objects=list(PROJECTIONS), doc="RA/Dec (RA increasing to the left) or all-sky Hammer-Aitoff.")
    show_members = param.Boolean(default=False, doc="Overlay the member galaxies catalog under the clusters.")
    cmap = param.Selector(default="fire", objects=["fire", "kbc", "viridis", "inferno", "bmy"], label="Colour map",
                          doc="Colormap; changing it does not re-aggregate.")
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
    aggregation = param.Selector(default="count", objects=["count", "mean"], precedence=-1, doc="Datashader reduction for color_by.")
    # Frames are never compared when set (param finds no equality for a DataFrame): a new one is an event at no cost.
    frame = param.Parameter(default=None, precedence=-1, doc="The rows drawn: the shown catalog's (pandas or Dask), or a HATS layer's for the view.")
    members_frame = param.Parameter(default=None, precedence=-1, doc="The member galaxies' rows while they are overlaid, else None.")
    view = param.Parameter(default=None, precedence=-1,
                           doc="(frame, boolean mask or None): the rows in view and passing the filters; None for no frame or a Dask one.")
    selection = param.Parameter(default=None, precedence=-1,
                                doc="Row positions selected on the map's markers (box or lasso), None for none: the table lists those in view.")
    highlighted = param.Integer(default=None, allow_None=True, bounds=(0, None), precedence=-1,
                                doc="Position in the view's frame of the row clicked in the table, ringed on the map.")
    loading = param.Boolean(default=False, precedence=-1, doc="Rows for the map are being read: the map shows its spinner.")

    def __init__(self, runtime: ViewerRuntime, notify=None, served: bool | None = None, **params) -> None:
        self.runtime = runtime
        if served is None:  # in a server session, view updates wait a tick so the map goes out first
            served = pn.state.curdoc is not None and pn.state.curdoc.session_context is not None
        self._served = served
        names = list(runtime.sources)
        catalog = params.pop("catalog", runtime.config.viewer.catalog or (names[0] if names else None))
        self._notify = notify or (lambda message: log.error("%s", message))
        self._shown: str | None = None
        self._hats: HatsLayer | None = None
        self._switch_started: float | None = None
        self._view_pending = False
        super().__init__(**params)
        self.param.catalog.objects = names  # this instance's copy: another config may have other catalogs
        self.ranges = MapRange()
        self.progress = ProgressReport()  # long work for a view (a HATS catalog's filtered density): how far it is
        self._failure = pn.pane.Alert("", alert_type="danger", visible=False, sizing_mode="stretch_width")
        self.param.watch(self._forget_ranges, "projection")  # before the map's new figure draws
        self.param.watch(self._check_where, "where")  # before anything filters with it
        self.map = MapView(model=self)
        # After the map's watchers: its image is made (and goes out) first.
        self.param.watch(self._switch_drawn, "frame")
        self.param.watch(self._schedule_view_update, ["frame", "snr_range", "z_range", "keep_unknown_z", "where", "projection"])
        self.ranges.param.watch(self._schedule_view_update, ["x_range", "y_range"])
        self.table = TableView(model=self)
        self._below = None  # histograms and table, made once the page is in the browser (_below_the_map)
        with param.parameterized.discard_events(self):
            self.catalog = catalog
        self._switch()
        if self.frame is None:  # the first catalog failed: an empty map, drawn linear
            self.map.draw()
        if self.show_members:  # asked for at construction: param runs no watcher for that
            self._load_members()
        self._schedule_view_update()

    # -- the public surface views and the HATS layer use ---------------------------

    @property
    def served(self) -> bool:
        """Whether this map is in a server session (changes for the page then go out on the server's loop)."""
        return self._served

    @property
    def shown(self) -> str | None:
        """The name of the catalog on the map (None before one loaded)."""
        return self._shown

    @property
    def hats(self) -> HatsLayer | None:
        """The HATS layer following the view of the catalog shown, when it is a HATS catalog."""
        return self._hats

    @property
    def view_ranges(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """(x_range, y_range) low to high as the browser last reported them; None before its first finite report."""
        ranges = (self.ranges.x_range, self.ranges.y_range)
        return ranges if _finite(ranges) else None

    def set_view_ranges(self, x_range, y_range) -> None:
        """The view the browser reports after a pan or zoom (low to high): image, rows in view and URL follow, once for both."""
        self.ranges.param.update(x_range=x_range, y_range=y_range)

    def move_to(self, x_range, y_range) -> None:
        """Show plot ranges (x as drawn: backwards in RA/Dec); the image and the view follow."""
        self.map.move_to(x_range, y_range)
        self.set_view_ranges(tuple(sorted(x_range)), tuple(sorted(y_range)))

    def columns(self, projection: str | None = None) -> tuple[str, str]:
        """The frame's (x, y) columns in a projection (default: the one shown)."""
        return PROJECTIONS[projection or self.projection]

    def extents(self, projection: str | None = None) -> tuple[tuple[float, float], tuple[float, float]]:
        """The whole map's (x, y) extent in a projection (default: the one shown)."""
        x, y = self.columns(projection)
        return EXTENTS[x], EXTENTS[y]

    def row_filter(self, snr_range=None, z_range=None) -> RowFilter:
        """The filters now (or with these ranges), as a value a reading thread can keep."""
        ranges = {"snr": snr_range or self.snr_range, "z": z_range or self.z_range}
        return RowFilter.of(ranges, {"snr": self.param.snr_range.bounds, "z": self.param.z_range.bounds}, self.keep_unknown_z, self.where)

    def filter_columns(self) -> list[str]:
        """The columns a condition may name: the catalog's own (a HATS catalog's, not its density overview's)."""
        if self._hats is not None:
            return list(self._hats.hats.mapping)
        return [] if self.frame is None else [c for c in self.frame.columns if c not in PROJECTIONS["all-sky"]]

    def _check_where(self, event) -> None:
        """A condition that does not parse, or names a column the catalog lacks, is named and taken back."""
        if not event.new.strip():
            return
        try:
            Expression.parse(event.new, self.filter_columns())
        except ExpressionError as exc:
            self.notify(str(exc))
            with param.parameterized.discard_events(self):
                self.where = event.old

    def color_column(self) -> str | None:
        """The column a pixel's colour is the mean of (None: it counts rows)."""
        if self.frame is not None and DENSITY in self.frame.columns:  # a HATS skymap: mean rows per deg² of its pixels
            return DENSITY
        _, for_clusters, for_members = COLOR_BY[self.color_by]
        column = for_members if getattr(self, "kind", "clusters") == "members" else for_clusters
        return column if self.frame is not None and column in self.frame.columns else None

    def pixel_hover_column(self) -> str | None:
        """The column whose largest value names a pixel's brightest row in the hover, when the pixel hover is on."""
        # The brightest cluster of a pixel is 25x dearer than a count at 10M points: only for cluster-sized
        # catalogs, and not for Dask frames (len() would read every file).
        frame = self.frame
        wanted = self.pixel_hover and frame is not None and not is_dask(frame) and "snr" in frame.columns and len(frame) < 2_000_000
        return "snr" if wanted else None

    def replace_frame(self, frame) -> None:
        """Draw ``frame`` for the catalog shown (a HATS layer's rows or density for the view); the view follows."""
        self.frame = frame

    def show_loading(self, on: bool) -> None:
        """The map's spinner on or off (only for real reads: it re-styles the whole pane, ~120 ms in the browser)."""
        self.loading = on

    def notify(self, message: str) -> None:
        """Tell the user ``message`` (plain text) as this map was told to: a notification when served."""
        self._notify(message)

    def select(self, rows) -> None:
        """Rows selected on the map's markers (positions in the view's frame; None: none): the table lists those."""
        self.selection = rows

    def highlight(self, position: int) -> None:
        """Ring the row at ``position`` of the view's frame on the map (a click in the table), again if it is already."""
        with param.parameterized.discard_events(self):
            self.highlighted = position
        self.param.trigger("highlighted")

    # -- loading through the cache ---------------------------------------------------

    @param.depends("catalog", watch=True)
    def _switch(self) -> None:
        if self.catalog is None or self.catalog == self._shown:
            return
        self._switch_started = time.perf_counter()
        self.show_loading(not self.runtime.is_cached(self.catalog))
        try:
            catalog = self.runtime.load(self.catalog)
        except Exception as exc:  # any failure is shown in the page; the other catalogs keep working
            self._switch_started = None
            message = f"Catalog {self.catalog!r} could not be loaded: {exc}"
            log.warning("%s", message)  # the server's log says why, as the page does
            if self._shown is not None:
                self.notify(message)
                self.catalog = self._shown
            else:  # nothing on the map yet: say so where the map is, and offer the others if there are any
                others = [n for n in self.param.catalog.objects if n != self.catalog]
                choose = f"\n\nChoose another catalog: {', '.join(others)}." if others else ""
                self._failure.object = as_markdown(message) + as_markdown(choose)
                self._failure.visible = True
            return
        finally:
            self.show_loading(False)
        self._failure.visible = False
        self._shown = self.catalog
        self.kind = catalog.kind
        self._hats = HatsLayer.attach(self, catalog)  # a HATS catalog: rows of the partitions in view, else density
        self.frame = catalog.data  # the link follows (url_state.follow)

    @param.depends("show_members", watch=True)
    def _load_members(self) -> None:
        name = self.runtime.config.viewer.members
        try:
            self.members_frame = self.runtime.load(name).data if name and self.show_members else None
        except Exception as exc:
            self.notify(f"Member galaxies ({name!r}) could not be loaded: {exc}")
            self.show_members = False
        if name is None and self.show_members:
            self.notify("No members catalog is configured: set [viewer] members in the config")
            self.show_members = False

    @param.depends("color_by", "frame", watch=True)
    def _aggregation(self) -> None:
        self.aggregation = "count" if self.color_column() is None else "mean"

    def _switch_drawn(self, *_events) -> None:
        # Runs after the map's watchers: the new frame's image is made by now.
        if self._switch_started is not None:
            with param.edit_constant(self):
                self.last_switch_seconds = time.perf_counter() - self._switch_started
            self._switch_started = None

    # -- what is in view -------------------------------------------------------------

    def _forget_ranges(self, *_events) -> None:
        # A new projection's view starts at its whole extent: the old ranges are in other units.
        with param.discard_events(self.ranges):
            self.ranges.param.update(x_range=None, y_range=None)

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

    def _update_view(self) -> None:
        frame = self.frame
        if frame is None or is_dask(frame):
            self.view = None
            return
        mask = self.row_filter().mask(frame)  # None when no filter narrows anything (so nothing is copied)
        ranges = self.view_ranges
        if ranges is not None:
            x, y = self.columns()
            (x0, x1), (y0, y1) = map(sorted, ranges)
            in_box = (frame[x] >= x0) & (frame[x] <= x1) & (frame[y] >= y0) & (frame[y] <= y1)
            mask = in_box if mask is None else mask & in_box
        self.view = (frame, None if mask is None else mask.to_numpy())

    # -- layout ----------------------------------------------------------------------

    def controls(self) -> pn.Column:
        # No members catalog configured: no switch that can only fail.
        members = ["show_members"] if self.runtime.config.viewer.members else []
        # Sliders act on the released value (value_throttled): a drag is one re-aggregation, not one per position.
        options = {"catalog": {"type": pn.widgets.RadioButtonGroup, "button_type": "primary"},
                   "snr_range": {"throttled": True}, "z_range": {"throttled": True},
                   "projection": {"type": pn.widgets.RadioButtonGroup, "button_type": "primary"},
                   "keep_unknown_z": pn.widgets.Checkbox, "pixel_hover": pn.widgets.Checkbox,
                   "show_members": {"type": pn.widgets.Switch, "name": "member galaxies"}}

        def group(*names) -> pn.Param:
            return pn.Param(self.param, parameters=list(names), widgets={n: options[n] for n in names if n in options},
                            show_name=False, sizing_mode="stretch_width")

        return pn.Column(group("catalog", "color_by", "snr_range"), TypedRange(model=self, parameter="snr_range", notify=self.notify),
                         group("z_range"), TypedRange(model=self, parameter="z_range", notify=self.notify),
                         group("keep_unknown_z", "where", "projection", *members, "cmap", "color_scaling", "opacity", "pixel_hover"),
                         sizing_mode="stretch_width")

    @param.depends()  # on nothing: a method without depends re-renders (and its page re-indexes) on every parameter's change
    def _below_the_map(self) -> pn.Column:
        """Histograms and table, made once (Panel may call a deferred function again)."""
        if self._below is None:
            self._below = pn.Column(Histograms(model=self), self.table, sizing_mode="stretch_width")
        return self._below

    def __panel__(self):
        # What is below the map goes out once the page is in the browser (defer_load): a new
        # session's page, with its map, is sent without waiting for the histograms and the table.
        return pn.Column(
            self._failure,
            self.progress.text,
            self.progress.bar,
            self.map,
            pn.panel(self._below_the_map, defer_load=True, sizing_mode="stretch_width", min_height=600),
            sizing_mode="stretch_both",
        )
