"""The sky map as one plain Bokeh figure whose data is replaced in place.

Layers, bottom to top: the member galaxies' image, the catalog's image (with its colour bar and
pixel hover), coordinate lines, markers (zoomed in), the highlighted cluster, and the cursor
readout. A HoloViews plot of the same layers cost every new session ~0.45 s of server time and
~130 Bokeh models; this figure is built in a few milliseconds from ~60.
"""

from __future__ import annotations

import colorcet
import numpy as np
from bokeh.events import RangesUpdate
from bokeh.models import (
    BoxSelectTool,
    ColorBar,
    ColumnDataSource,
    CustomJSHover,
    EqHistColorMapper,
    HoverTool,
    Image,
    LabelSet,
    LassoSelectTool,
    Legend,
    LegendItem,
    LinearColorMapper,
    LogColorMapper,
    MultiLine,
    Range1d,
    Scatter,
    TapTool,
)
from bokeh.palettes import Greys256, Inferno256, Viridis256
from bokeh.plotting import figure

from .find import cursor_readout
from .graticule import GRID_STYLE, PLANE_STYLE, labels, sky_lines
from .markers import HIGHLIGHT_STYLE, HOVER, MARKER_STYLE
from .raster import Raster, colour_limits

#: Every pixel hover field, read from the pixel under the cursor. BokehJS writes "NaN" for a NaN
#: field before any formatter runs, so each row names the image's x (never NaN) with the format
#: "column|text for an empty pixel"; an id is joined from its two 32-bit halves (raster.id_halves)
#: with BigInt, as a JavaScript number holds only 53 bits.
PIXEL_FIELD = """
const at = special_vars.image_index
const [column, empty] = format.split("|")
const read = (name) => source.data[name][at.index][at.flat_index]
if (column == "id") {
  const high = read("id_hi")
  if (!Number.isFinite(high))
    return empty
  let id = (BigInt(high) << 32n) | BigInt(read("id_lo"))
  if (signed && id >= (1n << 63n))
    id -= 1n << 64n
  return id.toString()
}
const v = read(column)
if (!Number.isFinite(v))
  return empty
if (Number.isInteger(v))
  return v.toString()
return Math.abs(v) > 0.1 && Math.abs(v) < 1000 ? v.toFixed(3) : v.toExponential(3)
"""


def pixel_tooltips(label: str = "objects per pixel", brightest=()) -> list[tuple[str, str]]:
    """The pixel hover's rows: the image's value (an empty pixel holds 0 objects, or no mean) and
    the ``brightest`` cluster's fields ("none" where no cluster is)."""
    value = "0" if label == "objects per pixel" else "none"
    return [(label, f"@{{x}}{{image|{value}}}")] + [(f"brightest: {c}", f"@{{x}}{{{c}|none}}") for c in brightest]


#: the least contrast (WCAG ratio) every colour of a map keeps against both themes' map background
MIN_CONTRAST = 1.5
BACKGROUNDS = {"light": "#ffffff", "dark": "#2b3035"}  # Panel's Bootstrap themes' plot background


def luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def visible(palette) -> list[str]:
    """The palette without its ends that vanish on a theme's background: fire's white on the light map,
    its black on the dark one (a pixel of 2 objects, or the brightest cluster, drawn white on white)."""
    keep = [all(contrast(c, bg) >= MIN_CONTRAST for bg in BACKGROUNDS.values()) for c in palette]
    runs, start = [], None  # the longest run of colours that show on both
    for i, ok in enumerate([*keep, False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            runs.append((i - start, start))
            start = None
    length, first = max(runs)
    return list(palette[first:first + length])


PALETTES = {name: visible(palette) for name, palette in {
    "fire": colorcet.palette["fire"], "kbc": colorcet.palette["kbc"], "bmy": colorcet.palette["bmy"],
    "viridis": Viridis256, "inferno": Inferno256}.items()}
MAPPERS = {"log": LogColorMapper, "eq_hist": EqHistColorMapper, "linear": LinearColorMapper}
TRANSPARENT = "rgba(0, 0, 0, 0)"


def _image_data(raster: Raster | None) -> dict:
    return {"image": [], "x": [], "y": [], "dw": [], "dh": []} if raster is None else raster.source_data()


def _shared(data: dict) -> dict:
    """Data cached for every session as one session's: a client can send stream and patch messages
    for any source in its page, and Bokeh applies them. It leaves tuples as they are (a stream makes
    the session a new list), and a patch into a read-only array raises."""
    def frozen(array: np.ndarray) -> np.ndarray:
        view = array.view()
        view.flags.writeable = False
        return view

    return {name: tuple(frozen(a) for a in column) for name, column in data.items()}


class SkyFigure:
    """The figure of one projection, whose x and y are the catalog's ``columns`` (markers and the
    highlighted cluster carry them by name). ``on_ranges(x_range, y_range)`` gets the view after every
    pan or zoom (sorted ranges); ``on_select(rows)`` the rows (see show_markers) of the markers a box,
    lasso or tap selected, None for none."""

    def __init__(self, projection: str, columns: tuple[str, str], extents, axis_labels, on_ranges, on_select) -> None:
        (x0, x1), y_extent = extents
        inverted = projection == "RA/Dec"  # RA grows to the left
        self.figure = fig = figure(
            x_range=Range1d(x1, x0) if inverted else Range1d(x0, x1), y_range=Range1d(*y_extent), x_axis_label=axis_labels[0],
            y_axis_label=axis_labels[1], sizing_mode="stretch_both", min_height=420, tools="pan,wheel_zoom,box_zoom,reset,save",
            active_scroll="wheel_zoom", output_backend="canvas")
        fig.grid.visible = False
        # Glyphs added as they are (add_glyph): the plotting helpers add a selection, non-selection and
        # muted copy of each, dozens of models every session serialises and the browser never uses here.
        image = dict(image="image", x="x", y="y", dw="dw", dh="dh")
        self.members = ColumnDataSource(_image_data(None))
        self._members = fig.add_glyph(self.members, Image(**image, global_alpha=0.6,
                                                          color_mapper=EqHistColorMapper(palette=Greys256, nan_color=TRANSPARENT)))
        self.images = ColumnDataSource(_image_data(None))
        self.mapper = LogColorMapper(palette=PALETTES["fire"], nan_color=TRANSPARENT)
        self.image = fig.add_glyph(self.images, Image(**image, color_mapper=self.mapper))
        self.colour_bar = ColorBar(color_mapper=self.mapper, width=12)
        fig.add_layout(self.colour_bar, "right")
        self._pixel_fields = pixel_tooltips()  # what the pixel hover names while no markers are shown
        self.pixel_hover = HoverTool(renderers=[self.image], tooltips=self._pixel_fields,
                                     formatters={"@{x}": CustomJSHover(args={"source": self.images, "signed": True}, code=PIXEL_FIELD)})
        grid, plane_lines, band = (_shared(sky_lines(projection)[name]) for name in ("grid", "plane", "band"))
        fig.add_glyph(ColumnDataSource(grid), MultiLine(xs="xs", ys="ys", **GRID_STYLE))
        plane = fig.add_glyph(ColumnDataSource(plane_lines), MultiLine(xs="xs", ys="ys", **PLANE_STYLE))
        fig.add_glyph(ColumnDataSource(band), MultiLine(xs="xs", ys="ys", line_dash="dashed", **PLANE_STYLE))
        label_x, label_y, text = labels(projection)
        if text:
            fig.add_layout(LabelSet(x="x", y="y", text="text", source=ColumnDataSource({"x": label_x, "y": label_y, "text": text}),
                                    text_color="#757575", text_font_size="9pt", text_align="left", text_baseline="bottom"))
        fig.add_layout(Legend(items=[LegendItem(label="Galactic plane", renderers=[plane])], location="top_left"))
        x, y = columns
        self.markers = ColumnDataSource({x: [], y: [], **{column: [] for _, column in HOVER}})
        self.marker_rows = np.empty(0, dtype=np.int64)  # what each marker stands for (show_markers)
        markers = fig.scatter(x, y, source=self.markers, **MARKER_STYLE)  # its selection styles are used
        self.highlighted = ColumnDataSource({x: [], y: []})
        fig.add_glyph(self.highlighted, Scatter(x=x, y=y, **HIGHLIGHT_STYLE))
        self.marker_hover = marker_hover = HoverTool(renderers=[markers], tooltips=[(label, f"@{{{column}}}") for label, column in HOVER])
        fig.add_tools(self.pixel_hover, marker_hover, TapTool(renderers=[markers]), BoxSelectTool(renderers=[markers]),
                      LassoSelectTool(renderers=[markers]))
        cursor_readout(fig, projection == "all-sky")
        fig.on_event(RangesUpdate, lambda event: self._ranges_update(event, on_ranges))
        self.markers.selected.on_change("indices", lambda _attr, _old, new: on_select(self._selected_rows(new)))

    @staticmethod
    def _ranges_update(event, on_ranges) -> None:
        # A client's message, not only BokehJS's: a missing bound is no view to follow.
        bounds = (event.x0, event.x1, event.y0, event.y1)
        if all(isinstance(v, (int, float)) for v in bounds):
            on_ranges(tuple(sorted(bounds[:2])), tuple(sorted(bounds[2:])))

    def show(self, raster: Raster) -> None:
        """The catalog's new image; its colour limits and its hover's fields follow it."""
        self.images.data = raster.source_data()
        limits = raster.limits
        if limits is not None:
            self._limit(self.mapper, limits)
        self._pixel_fields = pixel_tooltips(raster.label, raster.brightest)
        self._show_pixel_hover()
        if "id" in raster.brightest:  # a new dict, so the change reaches the browser
            formatter = self.pixel_hover.formatters["@{x}"]
            formatter.args = {**formatter.args, "signed": bool(raster.brightest["id"].dtype == np.int64)}
        self.colour_bar.title = raster.label

    def show_markers(self, data: dict, rows: np.ndarray, selected=()) -> None:
        """New markers, marker i standing for ``rows[i]``, the ``selected`` ones selected (a link's selection).
        The browser keeps a selection's indices across new data: set anew, else they would ring (and
        select) whichever markers now hold them."""
        self.marker_rows = rows
        self.markers.data = data
        self.markers.selected.indices = list(selected)  # its watcher tells the model (on_select)
        self._show_pixel_hover()
        if len(rows):  # the hover names only the fields this catalog has (no "richness: " for PSZ2's clusters)
            tooltips = [(label, f"@{{{column}}}") for label, column in HOVER if any(data.get(column, ()))]
            if tooltips != self.marker_hover.tooltips:
                self.marker_hover.tooltips = tooltips

    def _show_pixel_hover(self) -> None:
        """One tooltip at a time: while markers name the clusters, the pixel's count would be a second one
        over them. Its tooltips go, not its renderer: new renderers (models) make Bokeh re-index every
        model of the page, ~80 ms with the table and histograms, at each zoom that shows or hides markers."""
        tooltips = None if len(self.marker_rows) else self._pixel_fields
        if self.pixel_hover.tooltips != tooltips:
            self.pixel_hover.tooltips = tooltips

    def _selected_rows(self, indices) -> np.ndarray | None:
        # Indices past the markers shown come from markers since replaced: they name no row.
        if len(indices) == 0 or max(indices) >= len(self.marker_rows):
            return None
        return self.marker_rows[list(indices)]

    def show_members(self, raster: Raster | None) -> None:
        self.members.data = _image_data(raster)
        self._members.visible = raster is not None

    def restyle(self, cmap: str, scaling: str, opacity: float) -> None:
        """Colours only: the browser re-colours the image it has (no new aggregate)."""
        if type(self.mapper) is not MAPPERS[scaling]:
            self.mapper = MAPPERS[scaling](palette=PALETTES[cmap], nan_color=TRANSPARENT)
            limits = colour_limits(self.images.data["image"][0]) if len(self.images.data["image"]) else None
            if limits is not None:
                self._limit(self.mapper, limits)
            self.image.glyph.color_mapper = self.colour_bar.color_mapper = self.mapper
        self.mapper.palette = PALETTES[cmap]
        self.image.glyph.global_alpha = opacity

    @staticmethod
    def _limit(mapper, limits: tuple[float, float]) -> None:
        low, high = limits
        if isinstance(mapper, LogColorMapper) and low <= 0:  # a mean of zeros: log needs a positive low
            low = high / 1e3 if high > 0 else 1e-3
            high = max(high, low * 10)
        mapper.update(low=low, high=high)

    def move_to(self, x_range, y_range) -> None:
        """Move the view (x as drawn: backwards in RA/Dec). The browser sends no range event for it."""
        self.figure.x_range.update(start=x_range[0], end=x_range[1])
        self.figure.y_range.update(start=y_range[0], end=y_range[1])
