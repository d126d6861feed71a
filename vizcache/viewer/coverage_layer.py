"""The coverage outline (MOC) of the catalog shown, drawn on the sky map when "Coverage (MOC)" is ticked.

Off by default: the MOC is computed (once per catalog version, see catalogs/coverage.py) only when a
user asks for it. Beside the toggle, the MOC's area in deg² and a download of it as a FITS MOC.
"""

from __future__ import annotations

import io

import panel as pn
from bokeh.models import ColumnDataSource, MultiLine

from ..catalogs.coverage import area_deg2, catalog_moc, catalog_outline, fits_bytes
from ..catalogs.readers import CatalogError
from .graticule import multi_line

OUTLINE_STYLE = dict(line_color="#00b0ff", line_width=1.5, line_alpha=0.95)  # apart from fire's reds and the plane's teal
EMPTY = {"xs": [], "ys": []}


class CoverageLayer:
    """The toggle, area and download for a MapView; ``attach(figure)`` adds the outline glyph to a new figure."""

    def __init__(self, model, on_figure) -> None:
        self.model, self._on_figure = model, on_figure
        self.toggle = pn.widgets.Checkbox(name="Coverage (MOC)", value=False, margin=(8, 10))
        self.area = pn.pane.Str("", margin=(8, 10))
        self.download = pn.widgets.FileDownload(callback=self._fits, filename="coverage.fits", label="download MOC (FITS)",
                                                button_type="light", visible=False, height=30, margin=(2, 10))
        self.toggle.param.watch(self.draw, "value")
        model.param.watch(self.draw, "catalog")

    def __panel__(self):
        return pn.Row(self.toggle, self.area, self.download, height=40, sizing_mode="stretch_width")

    def attach(self, figure) -> None:
        """The outline's glyph on a figure just made (hidden until the toggle is ticked)."""
        figure.coverage = ColumnDataSource(dict(EMPTY))
        figure.coverage_renderer = figure.figure.add_glyph(figure.coverage, MultiLine(xs="xs", ys="ys", **OUTLINE_STYLE), visible=False)

    def _catalog(self):
        name = self.model.shown
        return None if name is None else self.model.runtime.load(name)  # the catalog shown: a cache hit

    def draw(self, *_events) -> None:
        """Outline, area and download for the catalog and projection shown, or none when the toggle is off."""
        data, text = dict(EMPTY), ""
        catalog = None
        if self.toggle.value:
            try:
                catalog = self._catalog()
            except CatalogError as exc:
                text = f"no coverage: {exc}"
            if catalog is not None:
                data = multi_line(catalog_outline(catalog, self.model.projection))
                text = f"{area_deg2(catalog_moc(catalog)):,.1f} deg²"
        self.area.object = text
        self.download.visible = catalog is not None
        self.download.filename = f"{catalog.name}_moc.fits" if catalog is not None else "coverage.fits"
        on = catalog is not None

        def show(figure) -> None:
            figure.coverage.data = data
            figure.coverage_renderer.visible = on

        self._on_figure(show)

    def _fits(self):
        catalog = self._catalog()
        return io.BytesIO(fits_bytes(catalog_moc(catalog)))
