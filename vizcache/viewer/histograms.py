"""Histograms of a SkyMap's rows in view (redshift and SNR), as plain Bokeh figures whose bars are replaced in place.

A HoloViews plot per histogram cost every new session ~100 ms of server time, and every view
change a new plot.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param


class Histogram:
    """A histogram of one column of the rows in view, as a Bokeh figure whose bars are replaced in place."""

    def __init__(self, columns: tuple[str, ...], label: str, bins: int = 40) -> None:
        from bokeh.models import BasicTicker, ColumnDataSource, HoverTool, NumeralTickFormatter, Range1d
        from bokeh.plotting import figure

        self.columns, self.label, self.bins = columns, label, bins
        self.source = ColumnDataSource({"left": [], "right": [], "count": []})
        # The y-range is set from the counts on every update: a few hundred rows after a filter or zoom
        # get bars as tall as 25,000 did, from 0 (no padding below it).
        self.figure = figure(height=200, sizing_mode="stretch_width", toolbar_location=None, x_axis_label=label, y_axis_label="rows in view",
                             y_range=Range1d(0, 1))
        self.figure.yaxis.formatter = NumeralTickFormatter(format="0,0")  # 600,000, not 6.000e+5
        self.figure.yaxis.ticker = BasicTicker(min_interval=1)  # counts: with 3 rows, ticks 0 1 2 3, not 0 0 0 1 1 1
        self.figure.quad(left="left", right="right", bottom=0, top="count", source=self.source, color="#3f51b5", line_color=None)
        self.figure.add_tools(HoverTool(tooltips=[(label, "@left{0.00} – @right{0.00}"), ("rows", "@count{0,0}")]))
        self.figure.title.text_font_size = "10pt"

    def show(self, frame, mask, out_of_core: bool = False) -> None:
        column = next((c for c in self.columns if frame is not None and c in frame.columns), None)
        if column is None:
            self.source.data = {"left": [], "right": [], "count": []}
            why = "not counted (out-of-core catalog)" if out_of_core else "no catalog loaded" if frame is None else "not in this catalog"
            self.figure.title.text = f"{self.label}: {why}"
            return
        values = frame[column].to_numpy()
        values = values[mask] if mask is not None else values
        values = values[np.isfinite(values)]
        counts, edges = np.histogram(values, bins=self.bins) if len(values) else (np.zeros(self.bins), np.linspace(0, 1, self.bins + 1))
        self.source.data = {"left": edges[:-1], "right": edges[1:], "count": counts}
        self.figure.y_range.update(start=0, end=1.08 * max(1, counts.max()))
        rows = len(values)
        self.figure.title.text = f"{self.label}: {rows:,} {'row' if rows == 1 else 'rows'} in view"  # short: it fits a 350-px histogram


class Histograms(pn.viewable.Viewer):
    """Redshift and SNR histograms of a SkyMap's rows in view, following its view.

    >>> Histograms(model=skymap).plots[0].figure  # the redshift histogram's Bokeh figure
    """

    model = param.ClassSelector(class_=param.Parameterized, constant=True, doc="The SkyMap whose rows in view are counted.")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self.plots = [Histogram(columns, label) for columns, label in ((("z", "z_phot"), "redshift"), (("snr",), "SNR"))]
        self.model.param.watch(self._fill, "view")
        self._fill()

    def _fill(self, *_events) -> None:
        frame, mask = self.model.view if self.model.view is not None else (None, None)
        out_of_core = frame is None and self.model.frame is not None  # a Dask frame has no rows in view
        for histogram in self.plots:
            # Raw Bokeh models change only under their document's lock: from a thread, on the next tick.
            pn.state.execute(lambda histogram=histogram: histogram.show(frame, mask, out_of_core))

    def __panel__(self):
        return pn.Row(*(pn.pane.Bokeh(h.figure, sizing_mode="stretch_width", height=210) for h in self.plots), sizing_mode="stretch_width")
