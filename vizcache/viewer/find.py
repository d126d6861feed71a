"""Finding an object: by name or id in the catalog shown, or by coordinates; and where the cursor is.

Coordinates are parsed by astropy: degrees (``180.5 -12.3``) or sexagesimal (``12:02:00 -12:18:00``,
``12h02m00s -12d18m00s``), optionally followed by a radius with a unit (``10'``, ``30"``,
``0.5d``, ``2arcmin``); a bare radius number is in arcminutes.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import CustomJS, Label

from ..catalogs.identifiers import as_text, equal_to
from .text import as_markdown

#: radius of the view around a found object or position when none is given
DEFAULT_RADIUS_ARCMIN = 10.0
#: matches listed at most for a name search
MAX_MATCHES = 10
# One number ("." or "1.2.3" is none: float() would raise), then an optional unit.
_RADIUS = re.compile(r"""^\s*(?P<value>(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*(?P<unit>'|"|arcmin|arcsec|deg|d|m|s|°)?\s*$""", re.I)
_UNITS = {"": "arcmin", "'": "arcmin", "m": "arcmin", "arcmin": "arcmin", '"': "arcsec", "s": "arcsec", "arcsec": "arcsec",
          "d": "deg", "deg": "deg", "°": "deg"}


#: characters of a search shown back in a message: a 5,000-digit paste is named, not repeated
SHOWN_CHARS = 40


class PositionError(ValueError):
    """Text that is not a position; the message says what is allowed."""


def shown(text: str) -> str:
    """``text`` quoted for a message, cut to SHOWN_CHARS characters."""
    return repr(text) if len(text) <= SHOWN_CHARS else repr(text[:SHOWN_CHARS]) + f"... ({len(text):,} characters)"


def _radius_arcmin(text: str) -> float:
    match = _RADIUS.match(text)
    if not match:
        raise PositionError(f"radius {shown(text)} is not a number with an optional unit (10', 30\", 0.5d, 2arcmin)")
    import astropy.units as u

    unit = _UNITS[(match["unit"] or "").lower()]
    radius = (float(match["value"]) * u.Unit(unit)).to_value(u.arcmin)
    if not 0 < radius <= 180 * 60:
        raise PositionError(f"radius {shown(text)} must be above 0 and at most 180°")
    return radius


def parse_position(text: str) -> tuple[float, float, float]:
    """(ra, dec, radius_arcmin) from ``RA Dec [radius]``; RA/Dec in degrees or sexagesimal."""
    from astropy.coordinates import SkyCoord

    tokens = text.replace(",", " ").split()
    # RA and Dec are 2 tokens ("12:02:00 -12:18:00") or 6 ("12 02 00 -12 18 00"); a radius may follow.
    for count in (2, 6):
        if len(tokens) in (count, count + 1):
            coords, rest = " ".join(tokens[:count]), tokens[count:]
            sexagesimal = count == 6 or ":" in coords or "h" in tokens[0].lower()
            try:
                unit = ("hourangle", "deg") if sexagesimal else ("deg", "deg")
                position = SkyCoord(coords, unit=unit, frame="icrs")
            except ValueError:
                continue
            radius = _radius_arcmin(rest[0]) if rest else DEFAULT_RADIUS_ARCMIN
            return float(position.ra.deg), float(position.dec.deg), radius
    raise PositionError(f"{shown(text)} is not a position: use RA Dec in degrees (180.5 -12.3) or sexagesimal "
                        f"(12:02:00 -12:18:00), optionally followed by a radius (10', 30\", 0.5d)")


def find_rows(frame: pd.DataFrame, text: str, limit: int = MAX_MATCHES) -> pd.DataFrame:
    """Rows whose id equals ``text`` or whose name contains it (case and spacing ignored), best first."""
    text = text.strip()
    if not text or frame is None:
        return frame.iloc[:0] if frame is not None else pd.DataFrame()
    hits = np.zeros(len(frame), dtype=bool)
    # An id has at most 20 digits (2**64 - 1); compared exactly, never as a float (2**53 + 1 is not 2**53).
    if re.fullmatch(r"\d{1,20}", text):
        for column in ("id", "cluster_id"):
            if column in frame.columns:
                hits |= equal_to(frame[column], int(text))
    if "name" in frame.columns:
        wanted = re.sub(r"\s+", "", text).lower()
        names = frame["name"].astype(str).str.replace(r"\s+", "", regex=True).str.lower()
        exact = (names == wanted).to_numpy()
        hits |= exact | names.str.contains(wanted, regex=False).to_numpy()
        order = np.flatnonzero(hits)
        order = order[np.argsort(~exact[order], kind="stable")]  # exact names first
        return frame.iloc[order[:limit]]
    return frame.iloc[np.flatnonzero(hits)[:limit]]


#: the readout under the cursor, computed in the browser (no server traffic per mouse move)
_READOUT_JS = """
let ra = cb_obj.x, dec = cb_obj.y;
if (allsky) {  // inverse Hammer-Aitoff, as vizcache.catalogs.projections
  const x = -cb_obj.x, y = cb_obj.y;
  const zz2 = 1 - (x / 4) ** 2 - (y / 2) ** 2;
  if (zz2 < 0.5) { label.text = ''; return; }
  const zz = Math.sqrt(zz2);
  ra = 2 * Math.atan2(zz * x, 2 * (2 * zz2 - 1)) * 180 / Math.PI;
  dec = Math.asin(Math.max(-1, Math.min(1, zz * y))) * 180 / Math.PI;
}
ra = ((ra % 360) + 360) % 360;
if (dec < -90 || dec > 90) { label.text = ''; return; }
const pad = (v, n) => String(v).padStart(n, '0');
const h = ra / 15, hh = Math.floor(h), mm = Math.floor((h - hh) * 60), ss = ((h - hh) * 60 - mm) * 60;
const s = dec < 0 ? '-' : '+', d = Math.abs(dec), dd = Math.floor(d), dm = Math.floor((d - dd) * 60), ds = ((d - dd) * 60 - dm) * 60;
label.text = `RA ${ra.toFixed(4)}°  Dec ${dec.toFixed(4)}°   ${pad(hh, 2)}:${pad(mm, 2)}:${ss.toFixed(1).padStart(4, '0')} ` +
             `${s}${pad(dd, 2)}:${pad(dm, 2)}:${ds.toFixed(0).padStart(2, '0')}`;
"""


def cursor_readout(figure, allsky: bool) -> None:
    """The sky position under the cursor, written in a corner of ``figure`` by the browser."""
    label = Label(x=6, y=6, x_units="screen", y_units="screen", text="", name="cursor-readout", text_font_size="12px",
                  background_fill_color="white", background_fill_alpha=0.8, text_color="#222")
    figure.add_layout(label)
    figure.js_on_event("mousemove", CustomJS(args=dict(label=label, allsky=allsky), code=_READOUT_JS))
    figure.js_on_event("mouseleave", CustomJS(args=dict(label=label), code="label.text = ''"))


def view_box(ra: float, dec: float, radius_deg: float, projection: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """(x_range, y_range) of the map showing ``radius_deg`` around (ra, dec); x runs backwards (RA grows left)."""
    from ..catalogs.projections import hammer_aitoff

    if projection == "RA/Dec":
        half_ra = min(radius_deg / max(np.cos(np.radians(dec)), 1e-3), 180.0)
        return (ra + half_ra, ra - half_ra), (max(dec - radius_deg, -90.0), min(dec + radius_deg, 90.0))
    x, y = (float(v[0]) for v in hammer_aitoff(np.array([ra]), np.array([dec])))
    half = np.radians(radius_deg) * np.sqrt(2)  # Hammer-Aitoff units per radian near the map's centre
    return (x - half, x + half), (y - half, y + half)


def show_region(skymap, ra: float, dec: float, radius_deg: float) -> None:
    """Move the sky map (in the browser and for the server's view) to a region."""
    skymap.move_to(*view_box(ra, dec, radius_deg, skymap.projection))


def example_query(frame) -> str:
    """Searches that find something in ``frame``: its brightest (else first) cluster's name or id, and its position."""
    if frame is None or type(frame).__module__.startswith("dask") or len(frame) == 0 or not {"ra", "dec"} <= set(frame.columns):
        return "RA Dec [radius], e.g. 150.12 +2.21 5'"
    snr = frame["snr"].to_numpy(dtype=float) if "snr" in frame.columns else None
    i = int(np.nanargmax(snr)) if snr is not None and not np.isnan(snr).all() else 0
    name = str(frame["name"].iloc[i]).strip() if "name" in frame.columns else ""
    who = name or (as_text(frame["id"].iloc[[i]])[0] if "id" in frame.columns else "")
    position = f"{float(frame['ra'].iloc[i]):.2f} {float(frame['dec'].iloc[i]):+.2f} 5'"
    return " · ".join(part for part in (who, position) if part)


class Finder(pn.viewable.Viewer):
    """A search box for the sky map: a name or id of the catalog shown, or a position with a radius.

    >>> Finder(skymap=skymap)
    """

    query = param.String(default="", doc="Name, id, or RA Dec [radius] to go to.")
    result = param.String(default="", constant=True, doc="What the last search found, as plain text.")

    def __init__(self, skymap, **params) -> None:
        self.skymap = skymap
        super().__init__(**params)
        self._input = pn.widgets.TextInput.from_param(self.param.query, name="Find a name, id or position",
                                                      placeholder=example_query(skymap.frame), sizing_mode="stretch_width")
        self._output = pn.pane.Markdown("", sizing_mode="stretch_width", margin=(0, 10))
        self.param.watch(self._search, "query")
        # The example is one of the catalog shown, so trying it finds something; a stale "no match" goes with it.
        skymap.param.watch(self._catalog_changed, "catalog")

    def _catalog_changed(self, *_events) -> None:
        self._input.placeholder = example_query(self.skymap.frame)
        if self.result.startswith("No "):
            self._say("")

    def _say(self, text: str) -> None:
        with param.edit_constant(self):
            self.result = text
        self._output.object = as_markdown(text)

    def _search(self, *_events) -> None:
        text = self.query.strip()
        if not text:
            self._say("")
            return
        try:
            ra, dec, radius = parse_position(text)
        except PositionError as exc:
            position_error = str(exc)
        else:
            show_region(self.skymap, ra, dec, radius / 60.0)
            self._say(f"Showing RA {ra:.5f}°, Dec {dec:+.5f}° within {radius:g}'.")
            return
        frame = self.skymap.frame
        if frame is None or "ra" not in getattr(frame, "columns", ()) or type(frame).__module__.startswith("dask"):
            self._say("This catalog cannot be searched by name or id. " + position_error)
            return
        rows = find_rows(frame, text)
        if rows.empty:
            what = "name or id" if "name" in frame.columns else "id"
            self._say(f"No {what} in {self.skymap.catalog} matches {shown(text)}. {position_error}")
            return
        first = rows.iloc[0]
        show_region(self.skymap, float(first["ra"]), float(first["dec"]), DEFAULT_RADIUS_ARCMIN / 60.0)
        self._say(f"{len(rows)}{'+' if len(rows) == MAX_MATCHES else ''} match(es); showing the first: "
                  + "; ".join(_describe(row) for row in rows.to_dict("records")))

    def __panel__(self):
        return pn.Column(self._input, self._output, sizing_mode="stretch_width")


def _describe(row: dict) -> str:
    # A dict of the row's own values: a row as a Series of one dtype would hold an int64 id as a float.
    label = row["name"] if "name" in row else f"id {as_text([row['id']])[0]}" if "id" in row else "row"
    return f"{label} (RA {row['ra']:.4f}, Dec {row['dec']:+.4f})"
