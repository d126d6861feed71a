"""The finder comparison's map, built as the sky map is: re-aggregated for the view on every zoom and pan
(datashader through HoloViews' RangeXY stream), and, once few clusters are in view, one marker per pair or
lone cluster whose hover names both clusters of a pair with their separation and Δz.
"""

from __future__ import annotations

import datashader as ds
import holoviews as hv
import numpy as np
import pandas as pd
from holoviews.operation.datashader import datashade, dynspread

from ..catalogs.crossmatch import MATCHED, ONLY_A, ONLY_B
from ..catalogs.identifiers import as_text

COLOURS = {MATCHED: "#2e7d32", ONLY_A: "#1565c0", ONLY_B: "#e65100"}
#: clusters in view at most for markers with a hover (more: the aggregate alone)
MARKER_LIMIT = 500
_HOVER = ["match", "cluster A", "cluster B", "sep_arcsec", "dz", "z", "snr"]


def marker_frame(classes: pd.DataFrame, names: tuple[str, str]) -> pd.DataFrame:
    """The comparison's rows as markers: each pair (at A's position) and lone cluster, its hover's text."""
    a, b = names
    id_a, id_b = (np.asarray(as_text(classes[c]), dtype=object) for c in ("id_a", "id_b"))
    return pd.DataFrame({
        "ra": classes["ra"].to_numpy(), "dec": classes["dec"].to_numpy(), "match": classes["match"].astype(str).to_numpy(),
        "cluster A": np.where(id_a != "", f"{a} " + id_a.astype(object), "—"),
        "cluster B": np.where(id_b != "", f"{b} " + id_b.astype(object), "—"),
        "sep_arcsec": classes["sep_arcsec"].to_numpy(), "dz": classes["dz"].to_numpy(),
        "z": classes["z"].to_numpy(), "snr": classes["snr"].to_numpy()})


def comparison_map(classes: pd.DataFrame, shown: list[str], names: tuple[str, str], counts: dict[str, int]):
    """Datashaded match classes (``shown`` only) re-aggregated per view, with markers once few are in view."""
    a, b = names
    labels = {MATCHED: f"matched ({counts[MATCHED]:,})", ONLY_A: f"only {a} ({counts[ONLY_A]:,})", ONLY_B: f"only {b} ({counts[ONLY_B]:,})"}
    rows = classes[classes["match"].isin(shown)]
    # The categories carry their counts: datashade's legend shows the category names.
    labelled = rows[["ra", "dec"]].assign(match=rows["match"].cat.rename_categories(labels))
    points = hv.Points(labelled, ["ra", "dec"], ["match"])
    shaded = dynspread(datashade(points, aggregator=ds.count_cat("match"), color_key={labels[c]: COLOURS[c] for c in labels},
                                 min_alpha=120, width=900, height=420), threshold=0.6, max_px=3)
    markers = marker_frame(rows, names)

    def in_view(x_range, y_range):
        view = markers
        if x_range is not None and y_range is not None:
            (x0, x1), (y0, y1) = sorted(x_range), sorted(y_range)
            view = markers[markers["ra"].between(x0, x1) & markers["dec"].between(y0, y1)]
        if len(view) > MARKER_LIMIT:
            view = view.iloc[:0]
        return hv.Points(view, ["ra", "dec"], _HOVER).opts(
            color="match", cmap=COLOURS, size=9, fill_alpha=0.0, line_width=2, tools=["hover"],
            hover_tooltips=[("", "@match"), ("A", "@{cluster A}"), ("B", "@{cluster B}"), ("separation", "@sep_arcsec{0.0}″"),
                            ("Δz", "@dz{0.000}"), ("z", "@z{0.000}"), ("SNR", "@snr{0.00}")], show_legend=False)

    pins = hv.DynamicMap(in_view, streams=[hv.streams.RangeXY()])  # its source: the plot it is drawn in
    return (shaded * pins).opts(hv.opts.Overlay(invert_xaxis=True, xlabel="RA [deg]", ylabel="Dec [deg]", responsive=True,
                                                min_height=420, legend_position="top_left",
                                                title=f"{a} vs {b}: match class of every cluster"))
