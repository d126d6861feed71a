"""Read Parquet, FITS and CSV catalogs into canonical columns, reading only the mapped columns.

Every problem becomes one :class:`CatalogError`, one line naming the file and the column. Rows
with missing or impossible coordinates are dropped and counted, never silently. Identifiers
(and other whole numbers) stay exact 64-bit integers, see identifiers.py.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .identifiers import NULLABLE_INTEGERS, NotWholeNumbers, is_whole_number_dtype, whole_numbers
from .projections import hammer_aitoff, wrap_ra
from .schema import IDENTIFIER_COLUMNS, REQUIRED, TEXT_COLUMNS

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".fits": "fits", ".fit": "fits", ".fits.gz": "fits", ".csv": "csv"}


class CatalogError(ValueError):
    """A catalog that cannot be read as configured; names the file and the column."""


def detect_format(path: Path) -> str:
    if path.is_dir() and ((path / "properties").exists() or (path / "hats.properties").exists()):
        return "hats"
    name = path.name.lower()
    for suffix, fmt in sorted(FORMATS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    raise CatalogError(f"{path}: unknown catalog format; allowed file endings: {', '.join(FORMATS)}, or a HATS catalog directory")


def one_line(exc: BaseException) -> str:
    """A library's message on one line (pyarrow's often carry a schema, one field a line)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _names(columns: list[str]) -> str:
    return ", ".join(" ".join(str(c).split()) for c in columns)  # a name holding a line break stays on the line


def check_columns(path: Path, available: list[str], wanted: list[str]) -> None:
    """Every wanted column present, and only once (a reader cannot tell which of two is meant)."""
    missing = [c for c in wanted if c not in available]
    if missing:
        raise CatalogError(f"{path}: missing column(s) {_names(missing)}; the file has: {_names(available)}")
    duplicated = [c for c in dict.fromkeys(wanted) if available.count(c) > 1]
    if duplicated:
        raise CatalogError(f"{path}: the file has these columns more than once: {_names(duplicated)}; "
                           "each column a catalog reads must have a unique name")


#: rows converted to pandas at a time, at most: a load's transient memory is one batch's, not one file's
BATCH_ROWS = 1 << 20
#: ...and an eighth of a smaller file's rows, down to SMALL_BATCH_ROWS: a 10⁶-row load peaked at 2.1x
#: what it keeps in quarters and 4.7x in 2**20-row batches (whose speed a 10⁷-row file keeps)
BATCH_FRACTION = 8
SMALL_BATCH_ROWS = 1 << 14
#: rows projected to all-sky coordinates at a time (float64 intermediates of this many rows only)
PROJECTION_CHUNK = 1 << 15
#: bytes of a Parquet column chunk read at a time: pages are streamed, not a whole row group's chunks
#: held; one such buffer per column read
READ_BUFFER = 1 << 16


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    # Integers with a missing value stay integers (pandas' default makes them float64: inexact above 2**53).
    # Arrow frees each column once converted, and every column gets its own block (no consolidating copy).
    return table.to_pandas(types_mapper=NULLABLE_INTEGERS.get, self_destruct=True, split_blocks=True)


def _read_parquet(path: Path, columns: list[str], identifiers: tuple[str, ...] = (), what: str = "Parquet file") -> pd.DataFrame:
    try:
        schema = pq.read_schema(path)
        check_columns(path, schema.names, columns)
        return _to_pandas(pq.read_table(path, columns=columns, pre_buffer=False, use_threads=False))  # see _parquet_batches
    except (pa.ArrowInvalid, OSError) as exc:
        raise CatalogError(f"{path}: not a readable {what} ({one_line(exc)})") from None


def _parquet_batches(path: Path, columns: list[str]) -> Iterator[pd.DataFrame]:
    try:
        # Without pre-buffering and threads the reader allocates through the pool set by
        # prepare_process_memory, not Arrow's C++ default pool, whose freed memory stays in RSS.
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER)
        check_columns(path, parquet.schema_arrow.names, columns)
        rows = min(BATCH_ROWS, max(SMALL_BATCH_ROWS, parquet.metadata.num_rows // BATCH_FRACTION))
        for batch in parquet.iter_batches(batch_size=rows, columns=columns, use_threads=False):
            table = pa.Table.from_batches([batch])
            del batch
            frame = _to_pandas(table)
            del table
            yield frame
    except (pa.ArrowInvalid, OSError) as exc:
        raise CatalogError(f"{path}: not a readable Parquet file ({one_line(exc)})") from None


def _read_fits(path: Path, columns: list[str], identifiers: tuple[str, ...] = ()) -> pd.DataFrame:
    from astropy.io import fits
    from astropy.units import UnitsWarning
    from astropy.utils.exceptions import AstropyWarning

    try:
        with warnings.catch_warnings():
            # Real headers carry odd unit strings; one warning per column would flood the log.
            warnings.simplefilter("ignore", UnitsWarning)
            warnings.simplefilter("ignore", AstropyWarning)
            with fits.open(path, memmap=True) as hdus:
                table = next((h for h in hdus if isinstance(h, fits.BinTableHDU)), None)
                if table is None:
                    raise CatalogError(f"{path}: no binary table extension in this FITS file")
                check_columns(path, list(table.columns.names), columns)
                data = table.data
                # FITS is big-endian; pandas and datashader want native byte order.
                return pd.DataFrame({c: np.asarray(data[c]).astype(data[c].dtype.newbyteorder("="), copy=True) for c in columns})
    except CatalogError:
        raise
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise CatalogError(f"{path}: not a readable FITS file ({one_line(exc)})") from None


def _read_csv(path: Path, columns: list[str], identifiers: tuple[str, ...] = ()) -> pd.DataFrame:
    """``identifiers`` are read as text, made exact integers by ``normalise``: Arrow would read digits
    beyond int64 (up to 2**64 - 1) as float64."""
    try:
        header = pacsv.open_csv(path).schema.names
        check_columns(path, header, columns)
        options = pacsv.ConvertOptions(include_columns=columns, column_types={c: pa.string() for c in identifiers})
        return _to_pandas(pacsv.read_csv(path, convert_options=options))
    except (pa.ArrowInvalid, OSError) as exc:
        raise CatalogError(f"{path}: not a readable CSV file ({one_line(exc)})") from None


def _read_hats_partition(path: Path, columns: list[str], identifiers: tuple[str, ...] = ()) -> pd.DataFrame:
    """One partition file of a HATS catalog (Parquet), named as such in errors."""
    return _read_parquet(path, columns, identifiers, "HATS partition (Parquet) file")


READERS = {"parquet": _read_parquet, "fits": _read_fits, "csv": _read_csv, "hats": _read_hats_partition}


@dataclass
class ReadReport:
    """What reading a catalog did, for catalog-info and the viewer."""

    rows_read: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> rows

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())


def read_source_file(path: Path, fmt: str, columns: list[str], identifiers: tuple[str, ...] = ()) -> pd.DataFrame:
    """The raw source columns of one file; ``identifiers`` (source columns) as the format lets them be read exactly."""
    if not path.exists():
        raise CatalogError(f"{path}: file not found (it may have been moved or deleted)")
    if path.stat().st_size == 0:
        raise CatalogError(f"{path}: file is empty")
    return READERS[fmt](path, columns, identifiers)


def read_source_batches(path: Path, fmt: str, columns: list[str], identifiers: tuple[str, ...] = ()) -> Iterator[pd.DataFrame]:
    """:func:`read_source_file` in batches of at most :data:`BATCH_ROWS` rows for Parquet (a whole file otherwise)."""
    if fmt != "parquet":
        yield read_source_file(path, fmt, columns, identifiers)
        return
    if not path.exists():
        raise CatalogError(f"{path}: file not found (it may have been moved or deleted)")
    if path.stat().st_size == 0:
        raise CatalogError(f"{path}: file is empty")
    yield from _parquet_batches(path, columns)


def _text(values: pd.Series) -> np.ndarray:
    """Text as Python strings, stripped (FITS pads with blanks; bytes are decoded)."""
    return np.array([(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)).strip() for v in values], dtype=object)


def identifier_sources(mapping: dict[str, str]) -> tuple[str, ...]:
    """The source columns holding identifiers (read exactly, never through float64)."""
    return tuple(dict.fromkeys(column for canonical, column in mapping.items() if canonical in IDENTIFIER_COLUMNS))


def normalise(frame: pd.DataFrame, mapping: dict[str, str], missing: dict[str, list[float]], float64: set[str],
              source: str, report: ReadReport, extra: tuple[str, ...] = (), nullable_ids: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Rename to canonical columns, apply sentinels, fix dtypes, drop bad coordinates (counted).

    Identifiers become exact int64 (uint64 if the file's are), nullable where some are missing
    (always for the canonical ``nullable_ids``: every part of a Dask frame the same dtype). ``extra`` source
    columns are kept under their own names: whole numbers as exact integers, other numbers as
    float64, anything else as text.
    """
    out = {}
    for column in extra:
        values = frame[column]
        if is_whole_number_dtype(values.dtype):
            out[column] = whole_numbers(values)
        elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
            out[column] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            out[column] = _text(values)
    for canonical, column in mapping.items():
        values = frame[column]
        if canonical in TEXT_COLUMNS:
            out[canonical] = _text(values)
            continue
        if canonical in IDENTIFIER_COLUMNS:
            try:
                out[canonical] = whole_numbers(values, missing.get(canonical, ()), canonical in nullable_ids)
            except NotWholeNumbers as exc:
                raise CatalogError(f"{source}: column {column!r} (mapped to {canonical!r}) {exc}") from None
            continue
        if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            raise CatalogError(f"{source}: column {column!r} (mapped to {canonical!r}) is not numeric (dtype {values.dtype})")
        array = values.to_numpy(dtype=np.float64, na_value=np.nan)
        if canonical in missing:
            array = np.where(np.isin(array, missing[canonical]), np.nan, array)
        out[canonical] = array if canonical in float64 else array.astype(np.float32)
    df = pd.DataFrame(out, copy=False)  # one block per column: no consolidating copy, and a column can be freed alone
    report.rows_read += len(df)
    ra = df["ra"].to_numpy(dtype=np.float64)
    dec = df["dec"].to_numpy(dtype=np.float64)
    bad_nan = np.isnan(ra) | np.isnan(dec)
    bad_range = ~bad_nan & ((np.abs(dec) > 90) | ~np.isfinite(ra))
    for reason, mask in (("missing ra/dec", bad_nan), ("dec outside [-90, 90] or infinite ra", bad_range)):
        if mask.any():
            report.dropped[reason] = report.dropped.get(reason, 0) + int(mask.sum())
    keep = ~(bad_nan | bad_range)
    if not keep.all():
        df = df[keep].reset_index(drop=True)
    df["ra"] = wrap_ra(df["ra"].to_numpy()).astype(df["ra"].dtype)
    return df


def add_projection(df: pd.DataFrame) -> pd.DataFrame:
    """All-sky Hammer-Aitoff coordinates, computed once per load so panning never recomputes them.

    In chunks straight into the float32 columns: the float64 intermediates of a whole 10M-row
    catalog would be a gigabyte of peak for 80 MB kept.
    """
    ra, dec = df["ra"].to_numpy(), df["dec"].to_numpy()
    x, y = np.empty(len(df), np.float32), np.empty(len(df), np.float32)
    for start in range(0, len(df), PROJECTION_CHUNK):
        part = slice(start, start + PROJECTION_CHUNK)
        x[part], y[part] = hammer_aitoff(ra[part].astype(np.float64), dec[part].astype(np.float64))
    df["x_allsky"] = x
    df["y_allsky"] = y
    return df


def required_missing(mapping: dict[str, str]) -> list[str]:
    return [c for c in REQUIRED if c not in mapping]
