"""Finder comparison: which clusters two finders both detected, which only one did, and how complete and pure.

Two cluster catalogs of the config (through the shared cache) are cross-matched on sky position
and redshift (:mod:`vizcache.catalogs.crossmatch`), the radius in arcsec or in proper Mpc at each
cluster's redshift, closest pairs first or both ways; the map (finder_comparison_map.py) colours the
match classes shown, re-aggregated per view, with markers naming both clusters of a pair zoomed in,
next to the separations of the matches, completeness and purity against redshift and SNR, and a
table filterable by match class.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from ..catalogs.crossmatch import MATCHED, ONLY_A, ONLY_B, Crossmatch
from ..catalogs.identifiers import as_text
from .exports import comparison_table, downloads, header_titles
from .finder_comparison_map import COLOURS, comparison_map
from .text import as_markdown

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
    radius_mpc = param.Number(default=None, allow_None=True, bounds=(0.01, 10.0), step=0.1,
                              doc="When set, a match's radius in proper Mpc at each A cluster's redshift (Planck18), instead of "
                                  "radius_arcsec; an A cluster without a redshift keeps radius_arcsec.")
    both_ways = param.Boolean(default=False, doc="Keep a pair only when each cluster is the other's closest candidate "
                                                 "(else closest pairs first, each cluster matched once).")
    shown_classes = param.ListSelector(default=[MATCHED, ONLY_A, ONLY_B], objects=[MATCHED, ONLY_A, ONLY_B],
                                       doc="Match classes drawn on the map.")

    def __init__(self, runtime, skymap=None, **params) -> None:
        self.runtime = runtime
        self.skymap = skymap  # its sidebar filters (SNR, z, condition) narrow both catalogs before matching
        names = [n for n, s in runtime.sources.items() if s.spec.kind == "clusters"]
        params.setdefault("catalog_a", "PZWAV" if "PZWAV" in names else names[0] if names else None)
        params.setdefault("catalog_b", "AMICO" if "AMICO" in names else names[-1] if names else None)
        super().__init__(**{k: v for k, v in params.items() if k not in ("catalog_a", "catalog_b")})
        self.param.catalog_a.objects = names
        self.param.catalog_b.objects = names
        self.catalog_a, self.catalog_b = params["catalog_a"], params["catalog_b"]
        self._cached: tuple | None = None
        self._match: Crossmatch | None = None
        self._filter = None  # the sidebar's filter the match was made with

    def result(self) -> Crossmatch | None:
        """The cross-match for the current settings (computed once per settings)."""
        row_filter = self.skymap.row_filter() if self.skymap is not None else None
        row_filter = row_filter if row_filter is not None and row_filter.narrows else None
        key = (self.catalog_a, self.catalog_b, self.radius_arcsec, self.dz, self.radius_mpc, self.both_ways, row_filter)
        if key != self._cached:
            self._match = self.runtime.crossmatch(self.catalog_a, self.catalog_b, self.radius_arcsec, self.dz, self.radius_mpc,
                                                  self.both_ways, row_filter)
            self._filter = row_filter
            self._cached = key
        return self._match

    # -- the views ----------------------------------------------------------------------

    def _finders(self) -> set[str]:
        """The detection codes of the two catalogs' clusters (their files' DET_CODE), as far as they say."""
        codes = set()
        for name in (self.catalog_a, self.catalog_b):
            frame = self.runtime.load(name).data
            codes |= set(frame["det_code"].dropna().unique().tolist()) if "det_code" in frame.columns else {name}
        return codes

    def _summary(self, a, b, radius, dz, *_options):
        try:
            match = self.result()
        except Exception as exc:  # a catalog that cannot load is named; the page stays up
            return pn.pane.Alert(as_markdown(f"Cannot compare {a!r} and {b!r}: {exc}"), alert_type="danger")
        counts = match.counts
        a, b = as_markdown(a), as_markdown(b)  # names from the config reach the page as text only
        median = float(np.median(match.separation_arcsec)) if len(match.separation_arcsec) else float("nan")
        within = f"{radius:g}″" if match.radius_mpc is None else f"{match.radius_mpc:g} proper Mpc at A's redshift"
        how = "; each cluster's closest both ways" if match.both_ways else ""
        text = (f"**{a}** ({len(match.a):,} clusters) against **{b}** ({len(match.b):,}), within {within}{how} and "
                f"|Δz|/(1+z) ≤ {dz:g}: **{counts[MATCHED]:,} matched**, {counts[ONLY_A]:,} only in {a}, "
                f"{counts[ONLY_B]:,} only in {b}. Completeness of {a} (fraction of {b} found): "
                f"**{counts[MATCHED] / max(len(match.b), 1):.1%}**; purity (fraction of {a} matched): "
                f"**{counts[MATCHED] / max(len(match.a), 1):.1%}**; median separation {median:.1f}″.")
        if self._filter is not None:
            text += f" Both catalogs narrowed by the sidebar's filters: {as_markdown(str(self._filter))}."
        if len(self._finders()) > 1:  # PZWAV's and AMICO's SNR are computed differently: their SNR bins are not alike
            text += ("\n\n*SNR is each finder's own quantity (PZWAV's and AMICO's are not computed alike): compare the "
                     "SNR curves within one catalog, not one catalog's SNR bin with the other's.*")
        return pn.pane.Markdown(text, sizing_mode="stretch_width")

    def _map(self, shown, a, b, *_settings):
        match = self.result()
        return comparison_map(match.classes(), list(shown), (a, b), match.counts)

    def _separations(self, a, b, radius, dz, *_options):
        sep = self.result().separation_arcsec
        counts, edges = np.histogram(sep, bins=40, range=(0, radius))
        return hv.Histogram((edges, counts), kdims=[hv.Dimension("sep", label="separation of a match [arcsec]")],
                            vdims=[hv.Dimension("pairs")]).opts(responsive=True, height=260, color=COLOURS[MATCHED], line_color=None,
                                                               title=f"{len(sep):,} match separations", tools=["hover"])

    def _rates(self, column, bins, label, a, b, radius, dz, *_options):
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

    def _table(self, match_class, a, b, radius, dz, *_options):
        classes = self.result().classes()
        if match_class != "all":
            classes = classes[classes["match"] == match_class]
        # ids as text, digit for digit: the browser's numbers are float64 (exact only up to 2**53)
        shown = classes.assign(match=classes["match"].astype(str), id_a=as_text(classes["id_a"]), id_b=as_text(classes["id_b"]))
        shown = shown.rename(columns={"id_a": f"id {a}", "id_b": f"id {b}"})
        return pn.widgets.Tabulator(shown.reset_index(drop=True), pagination="remote", page_size=15, disabled=True, show_index=False,
                                    titles=header_titles(shown.columns),
                                    sizing_mode="stretch_width", formatters={f"id {a}": {"type": "plaintext"}, f"id {b}": {"type": "plaintext"}})

    def _class_toggles(self) -> pn.widgets.CheckButtonGroup:
        """The match classes on the map, one button each ("only B on the map": apart from the table's "only B")."""
        toggles = pn.widgets.CheckButtonGroup(options={f"{c} on the map": c for c in self.param.shown_classes.objects},
                                              value=list(self.shown_classes), button_type="success", button_style="outline")
        toggles.param.watch(lambda event: setattr(self, "shown_classes", list(event.new)), "value")
        return toggles

    def __panel__(self):
        p = self.param
        settings = (p.catalog_a, p.catalog_b, p.radius_arcsec, p.dz, p.radius_mpc, p.both_ways)
        if self.skymap is not None:  # the sidebar's filters: a change makes the comparison again
            sp = self.skymap.param
            settings += (sp.snr_range, sp.z_range, sp.keep_unknown_z, sp.where)
        controls = pn.Row(
            pn.widgets.Select.from_param(p.catalog_a, name="catalog A", width=150),
            pn.widgets.Select.from_param(p.catalog_b, name="catalog B (reference)", width=170),
            pn.widgets.FloatInput.from_param(p.radius_arcsec, name="radius [arcsec]", width=130),
            pn.widgets.FloatInput.from_param(p.radius_mpc, name="or radius [Mpc]", width=120),
            pn.widgets.FloatInput.from_param(p.dz, name="Δz / (1+z)", width=110),
            pn.widgets.Checkbox.from_param(p.both_ways, name="both ways", margin=(30, 10, 5, 10)),
            sizing_mode="stretch_width")
        return pn.Column(
            controls,
            pn.panel(pn.bind(self._summary, *settings), sizing_mode="stretch_width"),
            self._class_toggles(),
            pn.pane.HoloViews(pn.bind(self._map, p.shown_classes, *settings), sizing_mode="stretch_width", min_height=420),
            pn.Row(pn.pane.HoloViews(pn.bind(self._separations, *settings), sizing_mode="stretch_width"),
                   pn.pane.HoloViews(pn.bind(self._rates, "z", Z_BINS, "redshift", *settings), sizing_mode="stretch_width"),
                   pn.pane.HoloViews(pn.bind(self._rates, "snr", SNR_BINS, "SNR", *settings), sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            pn.Row(pn.widgets.RadioButtonGroup.from_param(p.match_class, name="table rows", button_type="primary"), pn.layout.HSpacer(),
                   *downloads(lambda: comparison_table(self), "finder_comparison"), sizing_mode="stretch_width"),
            pn.panel(pn.bind(self._table, p.match_class, *settings), sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
