"""The sky map's view of a SkyMap: its datashaded image, members, markers and highlight, in one Bokeh figure.

The figure (sky_figure.py) is made once per projection; the server replaces its image when the
view, the catalog or a filter changes. Colour map, scaling and opacity are applied in the browser,
so changing them re-colours the image it has instead of re-aggregating.
"""

from __future__ import annotations

import itertools

import numpy as np
import panel as pn
import param

from .coverage_layer import CoverageLayer
from .markers import MARKER_LIMIT, marker_data
from .raster import Raster, empty, rasterize
from .sky_figure import SkyFigure

LABELS = {"ra": "RA [deg]", "dec": "Dec [deg]", "x_allsky": "Hammer-Aitoff x (RA increases to the left)", "y_allsky": "Hammer-Aitoff y"}
WIDTH, HEIGHT = 900, 450


class ProgressReport:
    """A bar and a line of text over the map for long work on a view (a HATS catalog's filtered density)."""

    def __init__(self) -> None:
        self.text = pn.pane.Markdown("", visible=False, margin=(0, 10))
        self.bar = pn.indicators.Progress(value=0, max=1, visible=False, sizing_mode="stretch_width", height=12)

    @property
    def visible(self) -> bool:
        return self.bar.visible

    @property
    def done(self) -> int:
        return self.bar.value

    def show(self, done: int, total: int, text: str) -> None:
        self.bar.max, self.bar.value = total, done
        self.text.object = text
        self.bar.visible = self.text.visible = True

    def hide(self) -> None:
        self.bar.visible = self.text.visible = False


class MapView(pn.viewable.Viewer):
    """The map of a SkyMap: it draws what the model holds and reports pans, zooms and selections back to it.

    >>> MapView(model=skymap).figure.figure  # the Bokeh figure
    """

    model = param.ClassSelector(class_=param.Parameterized, constant=True, doc="The SkyMap this map draws.")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        model = self.model
        self._tickets, self._newest_ticket = itertools.count(1), {}  # see _newest
        self._members_drawn = False
        self._markers_drawn = False
        self._pending_selection = None  # (ids, ranges) from a link, until the map shows those ranges
        self.coverage = CoverageLayer(model, self._on_figure)
        self.figure = self._new_figure()
        self.pane = pn.pane.Bokeh(self.figure.figure, sizing_mode="stretch_both", min_height=420)
        # The spinner goes on a wrapper: `loading` on a Bokeh pane syncs the themed figure's stylesheets
        # back into the pane, which rejects them (Panel 1.9).
        self._wrapper = pn.Column(self.coverage, self.pane, sizing_mode="stretch_both", min_height=420,
                                  css_classes=["vizcache-skymap"])  # how tests and benchmarks find the map
        model.param.watch(lambda event: setattr(self._wrapper, "loading", event.new), "loading")
        # The image first: watchers run, and queue their changes for the page, in the order they are added
        # (the model adds its view update after these).
        model.param.watch(self._reproject, "projection")
        model.param.watch(self.draw, ["frame", "snr_range", "z_range", "keep_unknown_z", "where", "color_by", "pixel_hover"])
        model.param.watch(self._restyle, ["cmap", "color_scaling", "opacity"])
        model.param.watch(self._draw_members, ["members_frame", "z_range", "keep_unknown_z", "where"])
        model.ranges.param.watch(self.draw, ["x_range", "y_range"])
        model.ranges.param.watch(self._draw_members, ["x_range", "y_range"])
        model.param.watch(self._follow_markers, "view")
        model.param.watch(self._highlight, "highlighted")

    # -- the figure ------------------------------------------------------------------

    def _new_figure(self) -> SkyFigure:
        model = self.model
        x, y = model.columns()

        # Events of a figure since replaced (a projection change) are dropped: its ranges are in the
        # other projection's units, and its markers are gone.
        def ranges(x_range, y_range) -> None:
            if figure is self.figure:
                model.set_view_ranges(x_range, y_range)

        def select(rows) -> None:
            if figure is self.figure:
                model.select(rows)

        figure = SkyFigure(model.projection, (x, y), model.extents(), (LABELS[x], LABELS[y]), ranges, select)
        self.coverage.attach(figure)
        return figure

    def _reproject(self, *_events) -> None:
        # A new figure (new axes) whose view starts at the whole extent (the model has forgotten the old ranges).
        self.figure = self._new_figure()
        self.draw()
        self._draw_members()
        self.coverage.draw()
        self.pane.object = self.figure.figure

    def _on_figure(self, change) -> None:
        """``change(figure)``: at once before the map is in a page (or unserved), else on the server's
        loop, where its document is locked (watchers also run on Panel's threads)."""
        figure = self.figure
        doc = figure.figure.document
        if self.model.served and doc is not None:
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

    def move_to(self, x_range, y_range) -> None:
        """Show plot ranges (x as drawn: backwards in RA/Dec)."""
        self._on_figure(lambda figure: figure.move_to(x_range, y_range))

    # -- what is drawn ---------------------------------------------------------------

    def _rasterize(self, frame, column: str | None = None, brightest_by: str | None = None, snr_range=None) -> Raster:
        model = self.model
        box = model.view_ranges or model.extents()
        if frame is None:
            return empty(*box)
        mask = model.row_filter(snr_range=snr_range).mask(frame)
        rows = frame if mask is None else frame[mask]
        return rasterize(rows, *model.columns(), *box, model.extents(), column=column, width=WIDTH, height=HEIGHT, brightest_by=brightest_by)

    def draw(self, *_events) -> None:
        """The catalog's image for the view and filters now."""
        model = self.model
        newest = self._newest("image")
        raster = self._rasterize(model.frame, model.color_column(), model.pixel_hover_column())
        title = f"{model.shown}: {model.color_by}" if model.shown else ""  # Bokeh draws titles as text, never HTML

        def show(figure: SkyFigure) -> None:
            if not newest():
                return  # a newer image is on its way
            figure.show(raster)
            figure.figure.title.text = title
            self._restyle(figure=figure)

        self._on_figure(show)

    def _restyle(self, *_events, figure: SkyFigure | None = None) -> None:
        model = self.model

        def restyle(figure: SkyFigure) -> None:
            # Read when applied, so the last applied is the newest whatever order changes arrive in.
            # With no catalog (the first one failed) the image is empty: drawn linear, which needs no limits.
            scaling = model.color_scaling if model.frame is not None else "linear"
            figure.restyle(model.cmap, scaling, model.opacity)

        if figure is not None:
            restyle(figure)
        else:
            self._on_figure(restyle)

    def _draw_members(self, *_events) -> None:
        members = self.model.members_frame
        newest = self._newest("members")  # before the check below: switched off, an image being made is outdated
        if members is None and not self._members_drawn:
            return  # no members shown, none to take away: nothing to send on every pan
        raster = None if members is None else self._rasterize(members, snr_range=self.model.param.snr_range.bounds)
        self._members_drawn = raster is not None
        self._on_figure(lambda figure: newest() and figure.show_members(raster))

    def _follow_markers(self, *_events) -> None:
        # Few rows in view: each one a marker with its own hover (see markers.py). A view too wide for
        # markers after another one has none to send: no empty update per pan or zoom.
        view = self.model.view
        if view is None:
            drawn = False
        else:
            frame, mask = view
            drawn = (len(frame) if mask is None else int(np.count_nonzero(mask))) <= MARKER_LIMIT
        if drawn or self._markers_drawn:
            data, rows = marker_data(view, list(self.model.columns()))
            selected = self._take_selection(view[0], rows) if drawn else []
            self._on_figure(lambda figure: figure.show_markers(data, rows, selected))
        self._markers_drawn = drawn

    def select_ids(self, ids, ranges=None) -> None:
        """Select the markers of the clusters ``ids`` once the map shows ``ranges`` (low to high; None: the
        next markers drawn) — a link's selection, applied after the link's view, which would clear it."""
        self._pending_selection = (frozenset(ids), ranges)
        if ranges is None:  # the view shown is the link's: its markers, if drawn, are selected now
            self._follow_markers()

    def _settled(self, ranges) -> bool:
        now = self.model.view_ranges
        if ranges is None or now is None:
            return ranges is None
        spans = [abs(r[1] - r[0]) for r in ranges]
        return all(abs(a - b) <= 1e-6 * span for got, want, span in zip(now, ranges, spans) for a, b in zip(got, want))

    def _take_selection(self, frame, rows: np.ndarray) -> list[int]:
        """The markers (indices into ``rows``) a link's pending selection names, once its view is shown."""
        if self._pending_selection is None or not self._settled(self._pending_selection[1]):
            return []
        ids, _ = self._pending_selection
        self._pending_selection = None
        if "id" not in frame.columns:
            return []
        chosen = np.flatnonzero(frame["id"].iloc[rows].isin(ids).to_numpy(dtype=bool, na_value=False))
        if len(chosen) < len(ids):
            self.model.notify(f"{len(ids) - len(chosen)} of the {len(ids)} clusters selected in the link are not on the map now")
        return chosen.tolist()

    def _highlight(self, event) -> None:
        # A row clicked in the table: ring it on the map.
        newest = self._newest("highlight")
        view = self.model.view
        if event.new is None or view is None:
            return
        x, y = self.model.columns()
        row = view[0].iloc[event.new]
        point = {x: [float(row[x])], y: [float(row[y])]}
        self._on_figure(lambda figure: newest() and setattr(figure.highlighted, "data", point))

    def __panel__(self):
        return self._wrapper
