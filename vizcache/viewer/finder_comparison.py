"""Finder comparison: which clusters two finders both detected, which only one did, and how complete and pure.

Two cluster catalogs of the config (through the shared cache) are cross-matched on sky position
and redshift (:mod:`vizcache.catalogs.crossmatch`); the map colours matched / only-A / only-B
with counts in the legend, next to the separations of the matches, completeness and purity
against redshift and SNR, and a table filterable by match class.
"""

from __future__ import annotations

import datashader as ds
import holoviews as hv
import numpy as np
import panel as pn
import param
from holoviews.operation.datashader import datashade, dynspread

from ..catalogs.crossmatch import MATCHED, ONLY_A, ONLY_B, Crossmatch
from ..catalogs.identifiers import as_text
from .exports import comparison_table, downloads, header_titles
from .text import as_markdown

COLOURS = {MATCHED: "#2e7d32", ONLY_A: "#1565c0", ONLY_B: "#e65100"}
Z_BINS = np.round(np.arange(0.0, 2.01, 0.2), 2)
SNR_BINS = np.array([3, 4, 5, 6, 8, 10, 15, 20, 30, 60], dtype=float)


class FinderComparison(pn.viewable.Viewer):
    """Cross-match two configured cluster catalogs and show how they compare.

    >>> FinderComparison(runtime=runtime, catalog_a="PZWAV", catalog_b="AMICO")
    """

    catalog_a = param.Selector(default=None, objects=[], doc="Catalog A (purity is the fraction of A matched in B).")
    catalog_b = param.Selector(default=None, objects=[], doc="Catalog B, the reference (completeness is the fraction of B matched in A).")
    radius_arcsec = param.Number(default=180.0, bounds=(1.0, 1800.0), step=10.0,
                                 doc="Largest sky separation of a match, in arcseconds.")
    dz = param.Number(default=0.15, bounds=(0.0, 1.0), step=0.01,
                      doc="Largest redshift difference of a match, as |z_B - z_A| / (1 + z_A); pairs without a redshift match on position.")
    match_class = param.Selector(default="all", objects=["all", MATCHED, ONLY_A, ONLY_B], doc="Rows of the table: every class or one.")

    def __init__(self, runtime, **params) -> None:
        self.runtime = runtime
        names = [n for n, s in runtime.sources.items() if s.spec.kind == "clusters"]
        params.setdefault("catalog_a", "PZWAV" if "PZWAV" in names else names[0] if names else None)
        params.setdefault("catalog_b", "AMICO" if "AMICO" in names else names[-1] if names else None)
        super().__init__(**{k: v for k, v in params.items() if k not in ("catalog_a", "catalog_b")})
        self.param.catalog_a.objects = names
        self.param.catalog_b.objects = names
        self.catalog_a, self.catalog_b = params["catalog_a"], params["catalog_b"]
        self._cached: tuple | None = None
        self._match: Crossmatch | None = None

    def result(self) -> Crossmatch | None:
        """The cross-match for the current settings (computed once per settings)."""
        key = (self.catalog_a, self.catalog_b, self.radius_arcsec, self.dz)
        if key != self._cached:
            self._match = self.runtime.crossmatch(self.catalog_a, self.catalog_b, self.radius_arcsec, self.dz)
            self._cached = key
        return self._match

    # -- the views ----------------------------------------------------------------------

    def _summary(self, a, b, radius, dz):
        try:
            match = self.result()
        except Exception as exc:  # a catalog that cannot load is named; the page stays up
            return pn.pane.Alert(as_markdown(f"Cannot compare {a!r} and {b!r}: {exc}"), alert_type="danger")
        counts = match.counts
        a, b = as_markdown(a), as_markdown(b)  # names from the config reach the page as text only
        median = float(np.median(match.separation_arcsec)) if len(match.separation_arcsec) else float("nan")
        text = (f"**{a}** ({len(match.a):,} clusters) against **{b}** ({len(match.b):,}), within {radius:g}″ and "
                f"|Δz|/(1+z) ≤ {dz:g}: **{counts[MATCHED]:,} matched**, {counts[ONLY_A]:,} only in {a}, "
                f"{counts[ONLY_B]:,} only in {b}. Completeness of {a} (fraction of {b} found): "
                f"**{counts[MATCHED] / max(len(match.b), 1):.1%}**; purity (fraction of {a} matched): "
                f"**{counts[MATCHED] / max(len(match.a), 1):.1%}**; median separation {median:.1f}″.")
        return pn.pane.Markdown(text, sizing_mode="stretch_width")

    def _map(self, a, b, radius, dz):
        match = self.result()
        classes = match.classes()
        counts = match.counts
        names = {MATCHED: f"matched ({counts[MATCHED]:,})", ONLY_A: f"only {a} ({counts[ONLY_A]:,})", ONLY_B: f"only {b} ({counts[ONLY_B]:,})"}
        # The categories carry their counts: datashade's legend shows the category names.
        labelled = classes[["ra", "dec"]].assign(match=classes["match"].cat.rename_categories(names))
        points = hv.Points(labelled, ["ra", "dec"], ["match"])
        shaded = dynspread(datashade(points, aggregator=ds.count_cat("match"), color_key={names[c]: COLOURS[c] for c in names},
                                     min_alpha=120, width=900, height=420, dynamic=False), threshold=0.6, max_px=3)
        return shaded.opts(invert_xaxis=True, xlabel="RA [deg]", ylabel="Dec [deg]", responsive=True, min_height=420,
                           legend_position="top_left", title=f"{a} vs {b}: match class of every cluster")

    def _separations(self, a, b, radius, dz):
        sep = self.result().separation_arcsec
        counts, edges = np.histogram(sep, bins=40, range=(0, radius))
        return hv.Histogram((edges, counts), kdims=[hv.Dimension("sep", label="separation of a match [arcsec]")],
                            vdims=[hv.Dimension("pairs")]).opts(responsive=True, height=260, color=COLOURS[MATCHED], line_color=None,
                                                               title=f"{len(sep):,} match separations", tools=["hover"])

    def _rates(self, column, bins, label, a, b, radius, dz):
        rates = self.result().rates(column, bins)
        curves = []
        for name, colour in (("completeness", "#6a1b9a"), ("purity", "#00838f")):
            part = rates[(rates["rate"] == name) & (rates["n"] > 0)]
            if part.empty:
                continue
            curves.append(hv.Curve((part["centre"], part["value"]), label, "fraction", label=name).opts(color=colour, line_width=2))
            curves.append(hv.ErrorBars((part["centre"], part["value"], part["value"] - part["low"], part["high"] - part["value"]),
                                       label, ["fraction", "below", "above"]).opts(color=colour))
        if not curves:
            return hv.Div(f"<p>no {label} column in these catalogs</p>")
        return hv.Overlay(curves).opts(responsive=True, height=260, ylim=(0, 1.05), legend_position="bottom_left",
                                       title=f"vs {label} (68 % intervals)")

    def _table(self, match_class, a, b, radius, dz):
        classes = self.result().classes()
        if match_class != "all":
            classes = classes[classes["match"] == match_class]
        # ids as text, digit for digit: the browser's numbers are float64 (exact only up to 2**53)
        shown = classes.assign(match=classes["match"].astype(str), id_a=as_text(classes["id_a"]), id_b=as_text(classes["id_b"]))
        shown = shown.rename(columns={"id_a": f"id {a}", "id_b": f"id {b}"})
        return pn.widgets.Tabulator(shown.reset_index(drop=True), pagination="remote", page_size=15, disabled=True, show_index=False,
                                    titles=header_titles(shown.columns),
                                    sizing_mode="stretch_width", formatters={f"id {a}": {"type": "plaintext"}, f"id {b}": {"type": "plaintext"}})

    def __panel__(self):
        p = self.param
        settings = (p.catalog_a, p.catalog_b, p.radius_arcsec, p.dz)
        controls = pn.Row(
            pn.widgets.Select.from_param(p.catalog_a, name="catalog A", width=150),
            pn.widgets.Select.from_param(p.catalog_b, name="catalog B (reference)", width=170),
            pn.widgets.FloatInput.from_param(p.radius_arcsec, name="radius [arcsec]", width=130),
            pn.widgets.FloatInput.from_param(p.dz, name="Δz / (1+z)", width=110),
            pn.widgets.RadioButtonGroup.from_param(p.match_class, name="table rows", button_type="primary", margin=(24, 10, 5, 10)),
            sizing_mode="stretch_width")
        return pn.Column(
            controls,
            pn.panel(pn.bind(self._summary, *settings), sizing_mode="stretch_width"),
            pn.pane.HoloViews(pn.bind(self._map, *settings), sizing_mode="stretch_width", min_height=420),
            pn.Row(pn.pane.HoloViews(pn.bind(self._separations, *settings), sizing_mode="stretch_width"),
                   pn.pane.HoloViews(pn.bind(self._rates, "z", Z_BINS, "redshift", *settings), sizing_mode="stretch_width"),
                   pn.pane.HoloViews(pn.bind(self._rates, "snr", SNR_BINS, "SNR", *settings), sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            pn.Row(pn.layout.HSpacer(), *downloads(lambda: comparison_table(self), "finder_comparison"), sizing_mode="stretch_width"),
            pn.panel(pn.bind(self._table, p.match_class, *settings), sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
