"""What the user can point at when zoomed in: markers, each with a hover naming the cluster.

The HoloViz pattern for catalogs: rasterize while a view holds many objects (raster.py), draw
them as markers once it holds few enough.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..catalogs.identifiers import as_text

#: at most this many rows in view are drawn as markers: PSZ2 (1,653) at full sky, a dense survey patch only zoomed in
MARKER_LIMIT = 2_000
#: the hover of a marker: (label, column of text prepared on the server). One fixed set of columns
#: for every catalog: the map's hover tool is made once.
HOVER = (("object", "object"), ("RA", "RA"), ("Dec", "Dec"), ("z", "z"), ("SNR", "SNR"), ("richness", "richness"), ("more", "more"))
#: canonical columns the hover already shows (the rest of a catalog's columns go to "more")
SHOWN = ("name", "id", "ra", "dec", "z", "z_phot", "snr", "richness")
#: canonical columns never shown to the user (derived for drawing)
INTERNAL = ("x_allsky", "y_allsky")
#: Bokeh scatter styles: rings, so the density below stays visible; a selection turns them yellow
MARKER_STYLE = dict(marker="circle", size=9, line_color="#00e5ff", fill_alpha=0.0, line_width=1.5, nonselection_line_alpha=0.35,
                    nonselection_fill_alpha=0.0, selection_line_color="#ffeb3b", selection_fill_alpha=0.0, selection_line_width=3)

#: the cluster of the table row last clicked
HIGHLIGHT_STYLE = dict(marker="circle", size=26, line_color="#ffeb3b", fill_alpha=0.0, line_width=3)


def _number(values, fmt: str) -> list[str]:
    return ["unknown" if not np.isfinite(v) else format(v, fmt) for v in np.asarray(values, dtype=float)]


def sexagesimal(degrees, unit: str, precision: int, signed: bool) -> list[str]:
    """Angles in degrees as astropy's ``Angle.to_string(unit=unit, sep=":", pad=True, precision=...)``
    writes them (``alwayssign`` with ``signed``): the same unit scale, splitting (modf), rounding (Python's
    ``round``, as the format rounds) and carries, several times faster (a zoom that shows markers spent
    a third of its time in astropy's)."""
    from astropy import units

    v = np.asarray(degrees, dtype=float) * units.deg.to(unit)  # astropy's scale, not a division by 15
    fraction, whole = np.modf(np.fabs(v))
    fraction, minutes = np.modf(fraction * 60.0)
    out = []
    for negative, unit, minute, second in zip(np.signbit(v).tolist(), whole.tolist(), minutes.tolist(), (fraction * 60.0).tolist()):
        if round(second, precision) >= 60.0:
            second, minute = 0.0, minute + 1.0
        if minute >= 60.0:
            minute, unit = 0.0, unit + 1.0
        sign = "-" if negative else "+" if signed else ""
        out.append(f"{sign}{unit:02.0f}:{int(minute):02d}:{second:0{precision + 3}.{precision}f}")
    return out


def hover_text(rows: pd.DataFrame) -> pd.DataFrame:
    """The hover's text columns for some rows of a catalog in canonical columns."""
    n = len(rows)
    ids = rows["id"] if "id" in rows.columns else rows["cluster_id"] if "cluster_id" in rows.columns else None
    # Text, digit for digit: the browser's numbers are float64 (2**53 + 1 would show as 2**53).
    id_text = [] if ids is None else [f"id {v}" if v else "" for v in as_text(ids)]
    if "name" in rows.columns:
        names = rows["name"].astype(str).to_numpy()
        label = [f"{a} ({b})" if b else a for a, b in zip(names, id_text or [""] * n)]
    else:
        label = id_text or [""] * n
    ra, dec = rows["ra"].to_numpy(dtype=float), rows["dec"].to_numpy(dtype=float)
    hms, dms = sexagesimal(ra, "hourangle", 2, signed=False), sexagesimal(dec, "deg", 1, signed=True)
    z = rows["z"] if "z" in rows.columns else rows["z_phot"] if "z_phot" in rows.columns else None
    extras = [c for c in rows.columns if c not in SHOWN and c not in INTERNAL]
    # Column by column (a cell read through .iloc was ~0.2 ms: 0.36 s for 2,000 markers)
    cells = [[f"{c} = {_plain(v)}" for v in rows[c].tolist()] for c in extras]
    more = ["; ".join(row) for row in zip(*cells)] if cells else [""] * n
    return pd.DataFrame({
        "object": label,
        "RA": [f"{a:.5f}° ({b})" for a, b in zip(ra, hms)],
        "Dec": [f"{a:.5f}° ({b})" for a, b in zip(dec, dms)],
        # A field the catalog does not have is left empty (and out of the hover), never "unknown".
        "z": _number(z, ".3f") if z is not None else [""] * n,
        "SNR": _number(rows["snr"], ".2f") if "snr" in rows.columns else [""] * n,
        "richness": _number(rows["richness"], ".1f") if "richness" in rows.columns else [""] * n,
        "more": more,
    }, index=rows.index)


def _plain(value) -> str:
    """A value as a user reads it: identifiers without separators or a trailing .0, NaN (or NA) as unknown."""
    if value is None or value is pd.NA:
        return "unknown"
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


def marker_data(view, names: list[str], limit: int = MARKER_LIMIT) -> tuple[dict[str, list], np.ndarray]:
    """The rows in ``view`` as the marker layer's data (the projection's x and y columns ``names``, and
    the hover's text) when there are at most ``limit`` of them, else no markers; and the rows' positions
    in the view's frame, one per marker."""
    rows = rows_in_view(view)
    if rows is None or len(rows) > limit:
        rows = np.empty(0, dtype=np.int64)
    picked = pd.DataFrame({"ra": [], "dec": []}) if view is None else view[0].iloc[rows]
    xy = {name: (picked[name].to_numpy(dtype=float) if name in picked.columns else np.empty(0)) for name in names}
    text = hover_text(picked)
    return xy | {column: text[column].tolist() for _, column in HOVER}, rows
