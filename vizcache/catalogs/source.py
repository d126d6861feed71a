"""A configured catalog: its files, column mapping and backend; a cache key and a loader.

The cache key carries a fingerprint of the files (path, size, mtime), so a changed file is
loaded again instead of being served stale. Files are only ever read inside the configured
folders, after resolving links and ``..``.
"""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .hats import HATS_FORMAT, HatsCatalog, hats_fingerprint
from .identifiers import NULLABLE_INTEGERS, NotWholeNumbers, concat_exact
from .projections import ra_extent
from .readers import (
    CatalogError,
    ReadReport,
    add_projection,
    check_columns,
    detect_format,
    identifier_sources,
    normalise,
    one_line,
    read_source_batches,
)
from .schema import EUCLID_COLUMNS, IDENTIFIER_COLUMNS, TEXT_COLUMNS

BACKENDS = ("pandas", "dask")
#: a Parquet load's peak RSS is at most 1.5x what the loaded catalog holds plus ~20 MiB (the reader's and
#: one batch's; benchmarks/bench_load_peak.py, docs/performance.md "A load's peak" from 10⁵ to 3×10⁷ rows)
LOAD_PEAK_FACTOR = 1.5
LOAD_PEAK_FIXED = 24 << 20
#: bytes a row of the two all-sky projection columns holds (float32 each)
_PROJECTION_BYTES = 8
#: HEALPix order of a HATS catalog's all-sky density overview: ~0.23° pixels, finer than an
#: all-sky map's screen pixel; coarser stored skymaps are used as they are
OVERVIEW_ORDER = 8


@dataclass(frozen=True)
class CatalogSpec:
    name: str
    kind: str
    files: tuple[str, ...]  # absolute paths or glob patterns
    folders: tuple[Path, ...]  # files must resolve inside one of these
    columns: dict[str, str] = field(default_factory=dict)  # canonical -> source column
    missing: dict[str, list[float]] = field(default_factory=dict)  # canonical -> sentinel values
    float64: frozenset[str] = frozenset()
    format: str | None = None
    backend: str = "pandas"
    scheduler: str | None = None
    extra: tuple[str, ...] = ()  # source columns kept as they are, for the table and the hover

    def mapping(self) -> dict[str, str]:
        return dict(self.columns) if self.columns else dict(EUCLID_COLUMNS[self.kind])


def _inside(path: Path, folders: tuple[Path, ...]) -> bool:
    return any(path == f or f in path.parents for f in folders)


def resolve_files(spec: CatalogSpec) -> list[Path]:
    """The files a spec names, now; each checked to lie inside the configured folders."""
    paths: list[Path] = []
    for pattern in spec.files:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise CatalogError(f"catalog {spec.name!r}: no file matches {pattern}")
        for match in matches:
            path = Path(match).resolve()
            if not _inside(path, spec.folders):
                allowed = ", ".join(map(str, spec.folders))
                raise CatalogError(f"catalog {spec.name!r}: {match} is outside the configured folders ({allowed})")
            paths.append(path)
    return paths


def fingerprint(paths: list[Path]) -> str:
    """Short hash of (path, size, mtime) of every file: changes when any file does."""
    h = hashlib.sha1()
    for path in paths:
        try:
            st = path.stat()
        except FileNotFoundError:
            raise CatalogError(f"{path}: file not found (it may have been moved or deleted)") from None
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:12]


@dataclass
class Catalog:
    """A loaded catalog in canonical columns, plus where it came from and what reading dropped."""

    name: str
    kind: str
    data: pd.DataFrame  # or a dask DataFrame with the dask backend
    files: list[Path]
    fingerprint: str
    mapping: dict[str, str]
    report: ReadReport
    backend: str = "pandas"
    hats: HatsCatalog | None = None  # a HATS catalog: `data` is its skymap density, rows come by partition

    def __len__(self) -> int:
        return len(self.data)

    def memory_bytes(self) -> int:
        if self.backend == "dask":
            return int(self.data.memory_usage(deep=True).sum().compute())
        return int(self.data.memory_usage(deep=True).sum())

    def info(self) -> dict:
        if self.hats is not None:
            return {"kind": self.kind, "backend": self.backend, **self.hats.info()}
        df = self.data
        ra = np.asarray(df["ra"]) if self.backend == "pandas" else df["ra"].to_dask_array(lengths=True).compute()
        stats = {}
        for col in ("dec", "z", "z_phot"):
            if col in df.columns:
                s = df[col]
                lo, hi = (s.min(), s.max()) if self.backend == "pandas" else (s.min().compute(), s.max().compute())
                stats[col] = [float(lo), float(hi)]
        rows = len(df)
        if rows == 0:  # only a Dask catalog gets here empty: every row had bad coordinates
            raise CatalogError(f"catalog {self.name!r}: no rows with valid coordinates in {', '.join(map(str, self.files))}")
        dropped = self.report.dropped if self.backend == "pandas" else {"bad coordinates": self.report.rows_read - rows}
        return {
            "name": self.name, "kind": self.kind, "backend": self.backend, "rows": rows,
            "rows_dropped": dropped,
            "files": [str(f) for f in self.files], "fingerprint": self.fingerprint,
            "columns": {c: {"source": self.mapping.get(c, "(derived)"), "dtype": str(df[c].dtype)} for c in df.columns},
            "ra_extent": list(ra_extent(ra)) if len(ra) else None,
            "dec_range": stats.get("dec"),
            "z_range": stats.get("z") or stats.get("z_phot"),
            "memory_bytes": self.memory_bytes(),
        }


class CatalogSource:
    """One configured catalog: its ``version()`` (changes when its files do) and ``load()``.

    >>> source = CatalogSource(spec)
    >>> catalog = cache.get_or_load(CacheKey(source.name, source.version()), source.load)
    """

    def __init__(self, spec: CatalogSpec) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    def is_hats(self, paths: list[Path] | None = None) -> bool:
        spec = self.spec
        if spec.format is not None:
            return spec.format == HATS_FORMAT
        paths = resolve_files(spec) if paths is None else paths
        return len(paths) == 1 and detect_format(paths[0]) == HATS_FORMAT

    def version(self) -> str:
        """A short hash of the files as they are now (path, size, mtime; a HATS catalog's metadata files)."""
        paths = resolve_files(self.spec)
        return hats_fingerprint(paths[0]) if self.is_hats(paths) else fingerprint(paths)

    def expected_load_bytes(self) -> int | None:
        """What loading this catalog will take at its peak, from the Parquet footers alone (no data read).

        None when that cannot be told beforehand (FITS, CSV, HATS, the Dask backend, an unreadable
        footer): the cache then plans from the key's history.
        """
        spec = self.spec
        if spec.backend != "pandas":
            return None
        try:
            paths = resolve_files(spec)
            if self.is_hats(paths) or any((spec.format or detect_format(p)) != "parquet" for p in paths):
                return None
            mapping = spec.mapping()
            held = 0
            for path in paths:
                metadata = pq.read_metadata(path)
                held += metadata.num_rows * _PROJECTION_BYTES
                for canonical, column in [*mapping.items(), *((c, c) for c in spec.extra)]:
                    if canonical in mapping and canonical not in TEXT_COLUMNS and canonical not in spec.float64:
                        held += metadata.num_rows * (8 if canonical in IDENTIFIER_COLUMNS else 4)
                    else:  # text, extra columns and float64 ones: as large as Arrow holds them uncompressed
                        held += _uncompressed_bytes(metadata, column)
        except (CatalogError, OSError, ValueError, pa.ArrowException):
            return None
        return int(held * LOAD_PEAK_FACTOR) + LOAD_PEAK_FIXED

    def open_hats(self) -> HatsCatalog:
        """The configured HATS catalog, opened from its metadata (no data file is read)."""
        spec = self.spec
        paths = resolve_files(spec)
        if len(paths) != 1:
            raise CatalogError(f"catalog {spec.name!r}: format = 'hats' names one HATS catalog directory, not {len(paths)} paths")
        if spec.backend != "pandas":
            raise CatalogError(f"catalog {spec.name!r}: a HATS catalog is read partition by partition through the cache; "
                               f"backend = {spec.backend!r} is not allowed with format = 'hats' (leave backend out)")
        return HatsCatalog(spec.name, paths[0], spec.mapping(), spec.missing, spec.float64)

    def load(self) -> Catalog:
        spec = self.spec
        paths = resolve_files(spec)
        mapping = spec.mapping()
        if self.is_hats():
            hats = self.open_hats()
            # What the cache holds for the whole catalog is its density overview; rows come by partition.
            overview = hats.density(OVERVIEW_ORDER)
            return Catalog(spec.name, spec.kind, overview, paths, hats.version, mapping, ReadReport(), HATS_FORMAT, hats)
        if spec.backend == "dask":
            data, report = self._load_dask(paths, mapping)
        else:
            report = ReadReport()
            frames = []
            for path in paths:
                fmt = spec.format or detect_format(path)
                columns = list(dict.fromkeys([*mapping.values(), *spec.extra]))
                for raw in read_source_batches(path, fmt, columns, identifier_sources(mapping)):
                    frames.append(normalise(raw, mapping, spec.missing, spec.float64, str(path), report, spec.extra))
                    del raw
            data = self._concat(frames, mapping)
            if data.empty:
                raise CatalogError(f"catalog {spec.name!r}: no rows with valid coordinates in {', '.join(map(str, paths))}")
            add_projection(data)
        return Catalog(spec.name, spec.kind, data, paths, fingerprint(paths), mapping, report, spec.backend)

    def _concat(self, frames: list[pd.DataFrame], mapping: dict[str, str]) -> pd.DataFrame:
        def describe(column: str) -> str:
            return f"column {mapping[column]!r} (mapped to {column!r})" if column in mapping else f"column {column!r}"

        if len(frames) == 1:
            return frames[0]
        try:
            joined = {}
            for column in list(frames[0].columns):  # one column at a time: the peak is the data plus one column
                joined[column] = concat_exact([frame[[column]] for frame in frames], describe)[column]
                for frame in frames:
                    del frame[column]
            return pd.DataFrame(joined, copy=False)
        except NotWholeNumbers as exc:
            raise CatalogError(f"catalog {self.spec.name!r}: {exc}") from None

    def _load_dask(self, paths: list[Path], mapping: dict[str, str]):
        import dask.dataframe as dd

        spec = self.spec
        if spec.scheduler:
            from .lsdb_tier import scheduler_client

            try:
                scheduler_client(spec.scheduler)
            except OSError as exc:
                raise CatalogError(f"catalog {spec.name!r}: cannot reach the Dask scheduler {spec.scheduler!r} ({exc})") from None
        if any((spec.format or detect_format(p)) != "parquet" for p in paths):
            raise CatalogError(f"catalog {spec.name!r}: backend = 'dask' reads Parquet files only")
        report = ReadReport()
        nullable = set()  # identifiers that may be missing in some part: nullable in every part
        for path in paths:  # validate columns and count rows from metadata, without reading data
            if not path.exists():
                raise CatalogError(f"{path}: file not found (it may have been moved or deleted)")
            try:
                metadata = pq.read_metadata(path)
            except (pa.ArrowInvalid, OSError) as exc:
                raise CatalogError(f"{path}: not a readable Parquet file ({one_line(exc)})") from None
            schema = metadata.schema.to_arrow_schema()
            check_columns(path, schema.names, list(mapping.values()))
            nullable |= {c for c in IDENTIFIER_COLUMNS if c in mapping and _may_be_missing(metadata, schema, mapping[c], c in spec.missing)}
            report.rows_read += metadata.num_rows
        if report.rows_read == 0:
            raise CatalogError(f"catalog {spec.name!r}: no rows in {', '.join(map(str, paths))}")
        # Integers with a missing value stay integers, as in the pandas backend.
        raw = dd.read_parquet([str(p) for p in paths], columns=list(dict.fromkeys(mapping.values())),
                              arrow_to_pandas={"types_mapper": NULLABLE_INTEGERS.get})
        nullable = frozenset(nullable)
        meta = add_projection(normalise(raw._meta, mapping, spec.missing, spec.float64, spec.name, ReadReport(), nullable_ids=nullable))

        def convert(part: pd.DataFrame) -> pd.DataFrame:
            return add_projection(normalise(part, mapping, spec.missing, spec.float64, spec.name, ReadReport(), nullable_ids=nullable))

        return raw.map_partitions(convert, meta=meta), report


def _uncompressed_bytes(metadata, column: str) -> int:
    """A Parquet column's bytes uncompressed, summed over its row groups (numbers at 8 bytes a row at least)."""
    index = metadata.schema.to_arrow_schema().get_field_index(column)
    if index < 0:
        raise ValueError(f"no column {column!r}")
    chunks = sum(metadata.row_group(g).column(index).total_uncompressed_size for g in range(metadata.num_row_groups))
    return max(chunks, 8 * metadata.num_rows)


def _may_be_missing(metadata, schema, column: str, has_sentinels: bool) -> bool:
    """Whether a Parquet column may hold a missing value, from its type and statistics (no data read)."""
    if has_sentinels or not pa.types.is_integer(schema.field(column).type):
        return True  # a sentinel, a float's NaN, an empty text
    index = schema.get_field_index(column)
    for group in range(metadata.num_row_groups):
        statistics = metadata.row_group(group).column(index).statistics
        if statistics is None or not statistics.has_null_count or statistics.null_count:
            return True
    return False
