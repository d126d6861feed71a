"""The table of rows in view: its columns, its order over ALL rows in view, and ids shown as ids.

The table holds one page at a time; sorting by a header sorts every row in view on the server
(not the page, not the first N rows), and the CSV download follows the same order. Ids (and other
whole numbers) go to the browser as text: JavaScript's numbers are float64, exact only up to 2**53.
In the CSV, text that a spreadsheet would run as a formula is prefixed with ``'`` (OWASP's "CSV
injection"); numbers are written as they are.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..catalogs.identifiers import as_text, is_whole_number_dtype
from ..catalogs.schema import EUCLID_COLUMNS, IDENTIFIER_COLUMNS, TEXT_COLUMNS
from .markers import rows_in_view

#: canonical columns in the table, in this order, when the catalog has them
CANONICAL_COLUMNS = ("name", "id", "ra", "dec", "z", "z_err", "snr", "richness", "det_code", "cross_id", "cluster_id", "z_phot", "pmem")
#: columns derived for drawing, never shown
INTERNAL = ("x_allsky", "y_allsky", "radius")
#: identifiers shown as they are: no thousands separators
TABLE_FORMATTERS = {c: {"type": "plaintext"} for c in IDENTIFIER_COLUMNS}
#: decimals the table shows of these float columns (the CSV and the exports keep every digit); other float columns up to 6
DECIMALS = {"ra": 5, "dec": 5, "z": 4, "z_err": 4, "z_phot": 4, "snr": 2, "richness": 1, "pmem": 3}
#: rows a CSV download holds at most (~100 bytes a row: ~100 MB)
CSV_MAX_ROWS = 1_000_000
#: text a spreadsheet reads as a formula (or a formula after its leading tab or CR): OWASP's list
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: text that is one plain number ("-12.5", "+3e-2"): a spreadsheet reads it as that number, never a formula
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def table_columns(frame: pd.DataFrame) -> list[str]:
    """Canonical columns the catalog has, then its extra (configured) columns."""
    known = {c for columns in EUCLID_COLUMNS.values() for c in columns} | set(TEXT_COLUMNS) | set(INTERNAL)
    return [c for c in CANONICAL_COLUMNS if c in frame.columns] + [c for c in frame.columns if c not in known]


def float_formats(frame: pd.DataFrame) -> dict[str, str]:
    """Each float column's number format in the table: a fixed number of decimals (DECIMALS; other float
    columns up to 6). Identifiers are plain text (TABLE_FORMATTERS)."""
    return {column: "0." + "0" * DECIMALS[column] if column in DECIMALS else "0.[000000]"
            for column in table_columns(frame)
            if pd.api.types.is_float_dtype(frame[column].dtype) and column not in IDENTIFIER_COLUMNS}


def column_formatters(formats: dict[str, str]) -> dict:
    """The table's formatters for :func:`float_formats`: identifiers as plain text, floats right-aligned
    so that their digits line up."""
    from bokeh.models import NumberFormatter

    return dict(TABLE_FORMATTERS) | {column: NumberFormatter(format=fmt, text_align="right") for column, fmt in formats.items()}


def sorted_rows(frame: pd.DataFrame, rows: np.ndarray, sorters: list[dict] | None) -> np.ndarray:
    """``rows`` (positions in ``frame``) in the order of Tabulator's ``sorters`` (first = primary); NaN last."""
    keys = [(s.get("field"), s.get("dir", "asc")) for s in (sorters or []) if s.get("field") in frame.columns]
    if not keys or len(rows) == 0:
        return rows
    order = np.arange(len(rows))
    for column, direction in reversed(keys):  # stable sorts, least significant first
        if is_whole_number_dtype(frame[column].dtype):
            order = order[_whole_number_order(frame[column].iloc[rows[order]], direction == "desc")]
            continue
        values = frame[column].to_numpy()[rows[order]]
        if values.dtype == object:
            values = values.astype(str)
            step = np.argsort(values, kind="stable")
            if direction == "desc":
                step = step[::-1]
        else:
            values = values.astype(float)
            missing = np.isnan(values)
            keyed = np.where(missing, np.inf, -values if direction == "desc" else values)
            step = np.argsort(keyed, kind="stable")
        order = order[step]
    return rows[order]


def _whole_number_order(values: pd.Series, descending: bool) -> np.ndarray:
    """A stable order of 64-bit integers compared exactly (as floats, 2**53 and 2**53 + 1 tie), missing last."""
    missing = values.isna().to_numpy(dtype=bool)
    present = np.flatnonzero(~missing)
    numbers = values.iloc[present].to_numpy(dtype=getattr(values.dtype, "numpy_dtype", values.dtype))
    if descending:  # negating would overflow: sort the reversed values, reverse back (ties keep their order)
        step = len(numbers) - 1 - np.argsort(numbers[::-1], kind="stable")[::-1]
    else:
        step = np.argsort(numbers, kind="stable")
    return np.concatenate([present[step], np.flatnonzero(missing)])


def for_display(rows: pd.DataFrame) -> pd.DataFrame:
    """Identifiers and other whole numbers as their exact digits, empty when unknown, for the table
    and the CSV: as text, what the browser gets is exact (a JavaScript number is not above 2**53),
    and the table shows them without separators (see TABLE_FORMATTERS)."""
    out = rows.copy()
    for column in out.columns:
        if column in IDENTIFIER_COLUMNS or is_whole_number_dtype(out[column].dtype):
            out[column] = as_text(out[column])
    return out


def _inert(value):
    """``value`` with a ``'`` in front when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def for_csv(rows: pd.DataFrame) -> pd.DataFrame:
    """:func:`for_display`, with every text cell and column name that starts a formula made inert.

    Only the columns that are text in ``rows`` are looked at: numbers (negative ones included) and
    the digits :func:`for_display` writes for whole numbers stay as they are.
    """
    out = for_display(rows)
    for column in rows.columns:
        dtype = rows[column].dtype
        if dtype == np.float32:  # the shortest digits that read back as the same float32, not float64's 5.033049583435059
            values = rows[column].to_numpy()
            out[column] = np.where(np.isnan(values), "", values.astype(str)).astype(object)
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype)):
            out[column] = out[column].astype(object).map(_inert, na_action="ignore")
    out.columns = [_inert(str(column)) for column in out.columns]  # a configured column's name comes from the file
    return out


def write_csv(rows: pd.DataFrame, buffer) -> None:
    """``rows`` as CSV (:func:`for_csv`) into ``buffer``. Lines end in CRLF (RFC 4180), so a cell holding a
    lone CR is quoted like one holding a newline: with "\\n" endings it was written bare and split its row."""
    for_csv(rows).to_csv(buffer, index=False, lineterminator="\r\n")


class RowOrder:
    """The rows in view in the table's order, sorted once per view and sort (not on every page).

    A selection (box or lasso on the map's markers) narrows them to the selected rows until the
    view changes or the selection is cleared.
    """

    def __init__(self) -> None:
        self._key = None
        self._rows = None
        self._selected: tuple[int, np.ndarray] | None = None  # (view version, row positions)

    def select(self, rows: np.ndarray | None, version: int) -> None:
        self._selected = None if rows is None or len(rows) == 0 else (version, np.asarray(rows))
        self._key = None

    def selecting(self, version: int) -> bool:
        return self._selected is not None and self._selected[0] == version

    def __call__(self, view, version: int, sorters: list[dict] | None) -> np.ndarray | None:
        key = (version, self.selecting(version), tuple((s.get("field"), s.get("dir")) for s in sorters or []))
        if key != self._key:
            rows = rows_in_view(view)
            if rows is not None and self.selecting(version):
                rows = rows[np.isin(rows, self._selected[1])]
            self._rows = None if rows is None else sorted_rows(view[0], rows, sorters)
            self._key = key
        return self._rows
