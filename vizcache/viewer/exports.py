"""Tables a viewer page hands out — the rows listed, the finder comparison — as VOTable, FITS and ECSV.

Columns carry the catalog's own names (the source columns the config's mapping names, not vizcache's
canonical ones) and their units (degrees for positions, arcseconds or Mpc for separations and radii,
none for redshift and SNR); the table's meta says what it is: the catalog, its files' names (never their
paths), the filters, the view and the vizcache version. Text cells are written as they are, whatever
they hold, and read back as text, never run: VOTable as BINARY2 (XML 1.0 cannot hold most control
characters, even escaped), FITS as UTF-8 bytes. What each format cannot keep (tested in
tests/viewer/test_exports.py): a NUL ends text in VOTable; FITS drops trailing spaces and
newlines (the standard's padding); astropy's ECSV trims leading and trailing spaces, reads a lone CR as a
newline and empty text as missing. Only the CSV (table_rows.write_csv) makes formula-like text inert,
since only a CSV is opened by spreadsheets.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import panel as pn
import param
from astropy.table import Column, MaskedColumn, Table

from .. import __version__
from ..catalogs.identifiers import is_whole_number_dtype
from ..catalogs.readers import CatalogError
from ..catalogs.source import resolve_files

#: format -> its file's extension
FORMATS = {"VOTable": ".vot", "FITS": ".fits", "ECSV": ".ecsv"}
#: units of canonical and derived columns; redshifts, SNR, richness and membership probabilities have none
UNITS = {"ra": "deg", "dec": "deg"}
#: a derived column's unit from its name's end (the finder comparison's ``sep_arcsec``, a radius in Mpc)
SUFFIX_UNITS = {"_arcsec": "arcsec", "_mpc": "Mpc", "_deg": "deg"}
#: source files named in the meta at most (a members catalog may have thousands)
MAX_FILES_NAMED = 50
#: the meta's keys as FITS header keywords (eight characters at most)
FITS_KEYS = {"catalog": "CATALOG", "source_files": "SRCFILES", "rows": "ROWS", "filters": "FILTERS", "view": "VIEW",
             "vizcache_version": "VIZCACHE", "catalog_a": "CATALOGA", "catalog_b": "CATALOGB", "source_files_a": "SRCFILEA",
             "source_files_b": "SRCFILEB", "radius": "RADIUS", "dz": "DZ", "match_class": "MATCHES"}
#: characters a FITS header card cannot hold: anything but printable ASCII
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")
#: characters a FITS column name should not have
_NOT_FITS_NAME = re.compile(r"[^A-Za-z0-9_-]")
#: characters XML 1.0 cannot hold, even as references (an INFO's value is an XML attribute)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def unit_of(column: str) -> str | None:
    """The unit of a canonical or derived column (None: dimensionless or unknown)."""
    if column in UNITS:
        return UNITS[column]
    return next((unit for suffix, unit in SUFFIX_UNITS.items() if column.lower().endswith(suffix)), None)


def header_titles(columns) -> dict[str, str]:
    """Tabulator titles showing each column's unit: ``{"ra": "ra [deg]"}`` (columns without one are left out)."""
    return {c: f"{c} [{unit}]" for c in map(str, columns) if (unit := unit_of(c))}


def source_names(columns, mapping: dict[str, str]) -> dict[str, str]:
    """canonical column -> the name it has in the catalog's files (``mapping``: the config's columns or the
    Euclid defaults); columns the mapping does not name (extra columns, derived ones) keep theirs. Two
    canonical columns read from one source column (a name that is also the id) get the canonical name after it."""
    out: dict[str, str] = {}
    for column in map(str, columns):
        name = mapping.get(column, column)
        out[column] = name if name not in out.values() else f"{name}_{column}"
    return out


def file_names(paths) -> str:
    """The files' names without their folders, comma-separated, at most MAX_FILES_NAMED of them."""
    names = [Path(p).name for p in paths]
    more = f", and {len(names) - MAX_FILES_NAMED:,} more" if len(names) > MAX_FILES_NAMED else ""
    return ", ".join(names[:MAX_FILES_NAMED]) + more


def _column(values: pd.Series, name: str) -> Column:
    unit = unit_of(str(values.name))
    dtype = values.dtype
    if is_whole_number_dtype(dtype) or (pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, np.dtype)):
        numpy_dtype = getattr(dtype, "numpy_dtype", dtype)  # integers, pandas' nullable Int64/UInt64/boolean: exact, masked where missing
        missing = values.isna().to_numpy(dtype=bool)
        data = values.to_numpy(dtype=numpy_dtype, na_value=0) if missing.any() else values.to_numpy(dtype=numpy_dtype)
        return MaskedColumn(data, name=name, mask=missing, unit=unit) if missing.any() else Column(data, name=name, unit=unit)
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return Column(values.to_numpy(), name=name, unit=unit)  # float NaN is each format's missing float
    # text (and categories such as the match class): missing text is empty, as in the CSV
    text = values.astype(object).where(values.notna(), "").map(str).to_numpy()
    return Column(np.array(text, dtype=str) if len(text) else np.array([], dtype="U1"), name=name, unit=unit)


def astropy_table(rows: pd.DataFrame, names: dict[str, str], meta: dict[str, str]) -> Table:
    """``rows`` under their ``names`` (see :func:`source_names`), each with its unit, and ``meta``."""
    return Table([_column(rows[c], names.get(str(c), str(c))) for c in rows.columns], meta=dict(meta))


def write(table: Table, fmt: str) -> io.BytesIO:
    """``table`` in ``fmt`` (a FORMATS key) as bytes, the meta in that format's own place for it."""
    if fmt not in FORMATS:
        raise ValueError(f"export format {fmt!r} is not one of {', '.join(FORMATS)}")
    buffer = io.BytesIO()
    if fmt == "VOTable":
        _write_votable(table, buffer)
    elif fmt == "FITS":
        _write_fits(table, buffer)
    else:
        text = io.StringIO()
        table.write(text, format="ascii.ecsv")  # the meta goes into the YAML header, control characters escaped there
        buffer.write(text.getvalue().encode("utf-8"))
    buffer.seek(0)
    return buffer


def _write_votable(table: Table, buffer) -> None:
    from astropy.io.votable.tree import Info, VOTableFile

    table = table.copy(copy_data=False)
    for name in table.colnames:
        column = table[name]
        if column.dtype.kind == "u" and column.dtype.itemsize == 8:
            # VOTable has no unsigned 64-bit integer: ids above 2**63 - 1 go as their digits, the others as long
            fits = len(column) == 0 or int(np.max(column)) <= np.iinfo(np.int64).max
            table[name] = column.astype(np.int64) if fits else column.astype(str)
    votable = VOTableFile.from_table(table)
    element = votable.resources[0].tables[0]
    for key, value in table.meta.items():  # TOPCAT lists INFOs as the table's parameters
        element.infos.append(Info(name=str(key), value=_escaped(_NOT_XML, value)))
    # ... and astropy's Table.read keeps only the description of them: the same, on one line
    element.description = _escaped(_NOT_XML, "; ".join(f"{key}: {value}" for key, value in table.meta.items()))
    # BINARY2: every text round-trips (XML 1.0 cannot hold most control characters, even escaped), and nulls are flagged
    votable.to_xml(buffer, tabledata_format="binary2")


def _write_fits(table: Table, buffer) -> None:
    table = table.copy(copy_data=False)
    for name in table.colnames:
        safe = _NOT_FITS_NAME.sub("_", name)  # FITS recommends letters, digits and _ (astropy misreads others, such as "' /")
        if safe != name:
            while safe in table.colnames:
                safe += "_"
            table.rename_column(name, safe)
        if table[safe].dtype.kind == "U":  # FITS text is ASCII: other text goes as its UTF-8 bytes (TEXTENC says so)
            table[safe] = np.char.encode(np.asarray(table[safe]), "utf-8") if len(table) else np.array([], dtype="S1")
    meta = {_fits_key(key): _escaped(_NOT_PRINTABLE_ASCII, value) for key, value in table.meta.items()}
    meta["TEXTENC"] = "UTF-8"
    table.meta = meta
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # long meta values go as CONTINUE cards; astropy warns that it does
        table.write(buffer, format="fits")


def _fits_key(key: str) -> str:
    return FITS_KEYS.get(key) or re.sub(r"[^A-Z0-9_-]", "_", str(key).upper())[:8]


def _escaped(characters: re.Pattern, value) -> str:
    """``value`` as text with the ``characters`` a format's meta cannot hold written as Python escapes (\\xe9, \\x01)."""
    return characters.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), str(value))


# -- what the page exports -------------------------------------------------------------------


def _files_of(spec) -> str:
    try:
        return file_names(resolve_files(spec))
    except CatalogError:  # files gone since they were loaded: the names the config gives
        return file_names(spec.files)


def _view_text(model) -> str:
    ranges = model.view_ranges
    if ranges is None:
        return "the whole map"
    (x0, x1), (y0, y1) = ranges
    x, y = ("RA", "Dec") if model.projection == "RA/Dec" else ("x", "y")
    unit = " deg" if model.projection == "RA/Dec" else " (Hammer-Aitoff)"
    return f"{x} {x0:.6g} to {x1:.6g}, {y} {y0:.6g} to {y1:.6g}{unit}"


def listed_table(table_view) -> Table | None:
    """A TableView's rows listed (the selection or the rows in view, in its order) as an astropy Table with the
    catalog's own column names, units and meta; None when it lists nothing (no catalog, a Dask one)."""
    rows = table_view.listed()
    model = table_view.model
    if rows is None or model.shown is None:
        return None
    spec = model.runtime.sources[model.shown].spec
    meta = {"catalog": model.shown, "source_files": _files_of(spec),
            "rows": "the selection on the map" if table_view.selecting else "the rows in view",
            "filters": str(model.row_filter()), "view": _view_text(model), "vizcache_version": __version__}
    return astropy_table(rows, source_names(rows.columns, spec.mapping()), meta)


def comparison_table(comparison) -> Table | None:
    """A FinderComparison's table (its match class shown) with the two catalogs' own column names, units and meta."""
    match = comparison.result()
    if match is None:
        return None
    rows = match.classes()
    if comparison.match_class != "all":
        rows = rows[rows["match"] == comparison.match_class]
    a, b = comparison.catalog_a, comparison.catalog_b
    specs = {side: comparison.runtime.sources[name].spec for side, name in (("a", a), ("b", b))}
    ids = {f"id_{side}": f"{spec.mapping().get('id', 'id')}_{name}" for (side, spec), name in zip(specs.items(), (a, b))}
    # positions, z and SNR are A's for a pair and each side's own for the unmatched: named as A names them
    names = {**source_names([c for c in rows.columns if c not in ids], specs["a"].mapping()), **ids}
    meta = {"catalog_a": a, "catalog_b": b, "source_files_a": _files_of(specs["a"]), "source_files_b": _files_of(specs["b"]),
            "radius": f"{comparison.radius_arcsec:g} arcsec", "dz": f"|z_B - z_A| / (1 + z_A) <= {comparison.dz:g}",
            "match_class": comparison.match_class, "vizcache_version": __version__}
    return astropy_table(rows.reset_index(drop=True), names, meta)


def downloads(make_table, stem: str) -> list:
    """One FileDownload per format of the table ``make_table()`` gives at the click (files ``stem``.vot, ...)."""
    def callback(fmt):
        table = make_table()
        return write(table if table is not None else Table(), fmt)

    return [pn.widgets.FileDownload(callback=lambda fmt=fmt: callback(fmt), filename=stem + extension, label=fmt, width=90,
                                    description=f"Download as {fmt}: the catalog's own column names, units and what was shown "
                                                "(catalog, files, filters, view) in the file")
            for fmt, extension in FORMATS.items()]


class ExportButtons(pn.viewable.Viewer):
    """VOTable, FITS and ECSV downloads of a TableView's rows listed (beside its CSV).

    >>> ExportButtons(table=skymap.table)
    """

    table = param.ClassSelector(class_=pn.viewable.Viewer, constant=True, doc="The TableView whose rows listed are exported.")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self.buttons = downloads(lambda: listed_table(self.table), "catalog_in_view")

    def name_files(self, stem: str) -> None:
        """Files named ``stem``.vot, .fits, .ecsv (the catalog and what is listed: ``BOTH_selected``)."""
        for button, extension in zip(self.buttons, FORMATS.values()):
            button.filename = stem + extension

    def __panel__(self):
        return pn.Row(*self.buttons, margin=0)
