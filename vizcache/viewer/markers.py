"""What the user can point at: spread sparse aggregates, honest colour limits, and markers when zoomed in.

The HoloViz pattern for catalogs: rasterize while a view holds many objects, draw them as
markers (each with a hover naming the cluster) once it holds few enough. Between the two, a
rasterized pixel that holds one cluster is spread over a few screen pixels (``dynspread``)
so an isolated cluster never is a single pixel.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
from holoviews.operation.datashader import dynspread

#: at most this many rows in view are drawn as markers: PSZ2 (1,653) at full sky, a dense survey patch only zoomed in
MARKER_LIMIT = 2_000
#: spread pixels until this fraction of non-empty pixels touch another, up to SPREAD_PX pixels
SPREAD_THRESHOLD, SPREAD_PX = 0.5, 3
#: the hover of a marker: (label, column of text prepared on the server). One fixed set of columns
#: for every catalog: a HoloViews DynamicMap keeps the hover tool and columns of its first frame.
HOVER = (("object", "object"), ("RA", "RA"), ("Dec", "Dec"), ("z", "z"), ("SNR", "SNR"), ("richness", "richness"), ("more", "more"))
#: canonical columns the hover already shows (the rest of a catalog's columns go to "more")
SHOWN = ("name", "id", "ra", "dec", "z", "z_phot", "snr", "richness")
#: canonical columns never shown to the user (derived for drawing)
INTERNAL = ("x_allsky", "y_allsky")
MARKER_STYLE = dict(marker="circle", size=9, color="#00e5ff", fill_alpha=0.0, line_width=1.5, nonselection_alpha=0.35,
                    selection_color="#ffeb3b", selection_line_width=3)

#: the cluster of the table row last clicked
HIGHLIGHT_STYLE = dict(marker="circle", size=26, color="#ffeb3b", fill_alpha=0.0, line_width=3)


def spread(rasterized):
    """``rasterized`` with sparse pixels spread (datashader's dynspread, max of neighbours: counts stay counts)."""
    return dynspread(rasterized, threshold=SPREAD_THRESHOLD, max_px=SPREAD_PX, how="max")


def colour_limits(image: hv.Image) -> hv.Image:
    """The image with colour limits that every scaling can draw: positive for log, never low == high.

    HoloViews widens equal limits by ±1, so an image of single clusters (all counts 1) got a log
    colour bar from 0 to 2: no ticks and nothing drawn.
    """
    if not image.vdims:
        return image
    values = np.asarray(image.dimension_values(image.vdims[0], flat=True), dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return image
    low, high = float(values.min()), float(values.max())
    if low == high:
        low, high = (low / 2, high * 2) if low > 0 else (low - 1, high + 1)
    return image.opts(clim=(low, high))


#: columns of a pixel's brightest cluster (HoloViews' selector) worth showing in the raster's hover
PIXEL_HOVER = ("name", "id", "z", "snr", "richness")


def raster_hover(image: hv.Image) -> hv.Image:
    """The aggregate named for what it is (colour bar and hover) and a hover without internal fields.

    Rasterize names the aggregate ``ra_dec Count`` or ``ra_dec snr`` and its hover lists every
    column it carries (projection coordinates, the selector); the user sees the count or the mean,
    and the brightest cluster of the pixel.
    """
    if not image.vdims:
        return image
    agg = image.vdims[0]
    column = agg.name.split(" ", 1)[-1]
    label = "objects per pixel" if column == "Count" else f"mean {column} per pixel"
    image = image.redim(**{agg.name: agg.clone(label=label)})
    brightest = [c for c in PIXEL_HOVER if c in [d.name for d in image.vdims[1:]]]
    return image.opts(hover_tooltips=[(label, f"@{{{agg.name}}}")] + [(f"brightest: {c}", f"@{{{c}}}") for c in brightest])


def _number(values, fmt: str) -> list[str]:
    return ["unknown" if not np.isfinite(v) else format(v, fmt) for v in np.asarray(values, dtype=float)]


def hover_text(rows: pd.DataFrame) -> pd.DataFrame:
    """The hover's text columns for some rows of a catalog in canonical columns."""
    from astropy.coordinates import Angle

    n = len(rows)
    ids = rows["id"] if "id" in rows.columns else rows["cluster_id"] if "cluster_id" in rows.columns else None
    id_text = [] if ids is None else ["" if pd.isna(v) else f"id {int(v)}" for v in ids]
    if "name" in rows.columns:
        names = rows["name"].astype(str).to_numpy()
        label = [f"{a} ({b})" if b else a for a, b in zip(names, id_text or [""] * n)]
    else:
        label = id_text or [""] * n
    ra, dec = rows["ra"].to_numpy(dtype=float), rows["dec"].to_numpy(dtype=float)
    hms = Angle(ra, "deg").to_string(unit="hourangle", sep=":", precision=2, pad=True) if n else []
    dms = Angle(dec, "deg").to_string(unit="deg", sep=":", precision=1, pad=True, alwayssign=True) if n else []
    z = rows["z"] if "z" in rows.columns else rows["z_phot"] if "z_phot" in rows.columns else np.full(n, np.nan)
    extras = [c for c in rows.columns if c not in SHOWN and c not in INTERNAL]
    more = ["; ".join(f"{c} = {_plain(rows[c].iloc[i])}" for c in extras) for i in range(n)]
    return pd.DataFrame({
        "object": label,
        "RA": [f"{a:.5f}° ({b})" for a, b in zip(ra, hms)],
        "Dec": [f"{a:.5f}° ({b})" for a, b in zip(dec, dms)],
        "z": _number(z, ".3f"),
        "SNR": _number(rows["snr"] if "snr" in rows.columns else np.full(n, np.nan), ".2f"),
        "richness": _number(rows["richness"] if "richness" in rows.columns else np.full(n, np.nan), ".1f"),
        "more": more,
    }, index=rows.index)


def _plain(value) -> str:
    """A value as a user reads it: identifiers without separators or a trailing .0, NaN as unknown."""
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "unknown"
        return str(int(value)) if float(value).is_integer() else f"{value:.6g}"
    return str(value)


def rows_in_view(view) -> np.ndarray | None:
    """Positions of the rows a view (frame, mask or None) holds; None when there is no view."""
    if view is None:
        return None
    frame, mask = view
    return np.arange(len(frame)) if mask is None else np.flatnonzero(mask)


def marker_points(view, kdims: list[hv.Dimension], limit: int = MARKER_LIMIT) -> hv.Points:
    """The rows in ``view`` as markers when there are at most ``limit`` of them, else no markers."""
    names = [d.name for d in kdims]
    rows = rows_in_view(view)
    if rows is None or len(rows) > limit:
        rows = np.empty(0, dtype=np.int64)
    if view is None:
        data = pd.DataFrame({n: np.array([], float) for n in names})
        data = pd.concat([data, hover_text(pd.DataFrame({"ra": [], "dec": []}))], axis=1)
    else:
        picked = view[0].iloc[rows]
        data = pd.concat([picked[names].reset_index(drop=True), hover_text(picked).reset_index(drop=True)], axis=1)
    return hv.Points(data, kdims, [c for _, c in HOVER]).opts(
        tools=["hover", "tap", "box_select", "lasso_select"], hover_tooltips=[(label, f"@{{{c}}}") for label, c in HOVER],
        **MARKER_STYLE)
