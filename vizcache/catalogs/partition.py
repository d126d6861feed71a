"""Write any configured catalog as a HATS catalog with hats-import, out of core, on Dask.

hats-import reads the input in chunks, bins rows by HEALPix pixel, and writes one Parquet file
per partition (split adaptively so no partition exceeds ``max_rows``), plus the catalog's
``properties``, ``partition_info.csv`` and point-count skymaps. Only the mapped source columns
are kept, under their source names, so the same column mapping reads the result.
"""

from __future__ import annotations

import logging
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from hats_import.catalog.file_readers.input_reader import InputReader

from .identifiers import NULLABLE_INTEGERS
from .readers import CatalogError, ReadReport, check_columns, detect_format, identifier_sources, normalise, one_line
from .source import CatalogSource, CatalogSpec, resolve_files

#: skymap orders stored beside the finest (the partitioning's highest order): coarse density
#: maps for zoomed-out views without summing the finest map each time
SKYMAP_ALT_ORDERS = (3, 5, 7)


@dataclass(frozen=True)
class PartitionSettings:
    max_rows: int = 1_000_000  # rows per partition at most (hats-import's pixel_threshold)
    highest_order: int = 8  # finest HEALPix order of a partition, and the skymap's order
    workers: int = 1  # local cluster: worker processes' threads share this process
    threads: int = 2
    chunk_rows: int = 500_000  # rows read at a time from each input file


class ValidCoordinates(InputReader):
    """A hats-import reader that leaves out rows with missing or impossible coordinates.

    hats-import bins a NaN position into some pixel all the same; vizcache's readers drop those
    rows (and count them), so the HATS catalog holds the rows the other formats would load.
    Chunks come as pyarrow Tables or pandas DataFrames, depending on the inner reader.
    """

    def __init__(self, inner, ra: str, dec: str) -> None:
        self.inner, self.ra, self.dec = inner, ra, dec

    def read(self, input_file, read_columns=None):
        for chunk in self.inner.read(input_file, read_columns=read_columns):
            for column in (self.ra, self.dec):  # numpy would turn text such as "12.5" into numbers
                if not _numeric(chunk, column):
                    raise CatalogError(f"{input_file}: column {column!r} is not numeric; sky positions are numbers in degrees")
            ra = np.asarray(chunk[self.ra], dtype=np.float64)
            dec = np.asarray(chunk[self.dec], dtype=np.float64)
            keep = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
            if keep.all():
                yield chunk
            elif isinstance(chunk, pd.DataFrame):
                yield chunk[keep].reset_index(drop=True)
            else:
                yield chunk.filter(pa.array(keep))


def _numeric(chunk, column: str) -> bool:
    if isinstance(chunk, pd.DataFrame):
        dtype = chunk[column].dtype
        return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    kind = chunk.schema.field(column).type
    return pa.types.is_integer(kind) or pa.types.is_floating(kind)


#: rows of each input file checked before the conversion starts
SAMPLE_ROWS = 1_000


def _first_rows(path: Path, fmt: str, columns: list[str], identifiers: tuple[str, ...]) -> pd.DataFrame:
    """The first rows of an input file, read as the catalog readers read it (a file's metadata and one small batch)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt == "fits":
        from astropy.io import fits

        try:
            with fits.open(path, memmap=True) as hdus:
                table = next((h for h in hdus if isinstance(h, fits.BinTableHDU)), None)
                if table is None:
                    raise CatalogError(f"{path}: no binary table extension in this FITS file")
                check_columns(path, list(table.columns.names), columns)
                rows = table.data[:SAMPLE_ROWS]
                return pd.DataFrame({c: np.asarray(rows[c]).astype(rows[c].dtype.newbyteorder("=")) for c in columns})
        except CatalogError:
            raise
        except (OSError, ValueError, TypeError, IndexError) as exc:
            raise CatalogError(f"{path}: not a readable FITS file ({one_line(exc)})") from None
    try:
        if fmt == "parquet":
            parquet = pq.ParquetFile(path)
            check_columns(path, parquet.schema_arrow.names, columns)
            batches = parquet.iter_batches(batch_size=SAMPLE_ROWS, columns=columns)
            schema = parquet.schema_arrow
        else:
            check_columns(path, pacsv.open_csv(path).schema.names, columns)
            options = pacsv.ConvertOptions(include_columns=columns, column_types={c: pa.string() for c in identifiers})
            batches = pacsv.open_csv(path, convert_options=options)
            schema = batches.schema
        batch = next(iter(batches), None)
        table = pa.Table.from_batches([batch]) if batch is not None else schema.empty_table().select(columns)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CatalogError(f"{path}: not a readable {'Parquet' if fmt == 'parquet' else 'CSV'} file ({one_line(exc)})") from None
    return table.to_pandas(types_mapper=NULLABLE_INTEGERS.get)


def check_inputs(spec: CatalogSpec, paths: list[Path]) -> None:
    """Each input file readable and its mapped columns what catalog-info accepts, from its first rows.

    Checked here, in this process, so a bad file is one clear error before hats-import starts,
    rather than a failed Dask task and its traceback.
    """
    mapping = spec.mapping()
    columns, identifiers = list(dict.fromkeys(mapping.values())), identifier_sources(mapping)
    for path in paths:
        if not path.is_file():
            raise CatalogError(f"{path}: file not found (it may have been moved or deleted)" if not path.exists()
                               else f"{path}: not a file; partition reads Parquet, FITS or CSV files")
        fmt = spec.format or detect_format(path)
        normalise(_first_rows(path, fmt, columns, identifiers), mapping, spec.missing, set(spec.float64), str(path), ReadReport())


def _output_folder(out: str | Path, overwrite: bool) -> Path:
    """``out`` resolved, checked to be a folder this run may fill (emptied first with ``overwrite``)."""
    try:
        out = Path(out).resolve()
        if out.exists() and not out.is_dir():
            raise CatalogError(f"{out}: exists and is not a folder; --out names the folder to write the HATS catalog into")
        if out.exists() and any(out.iterdir()):
            if not overwrite:
                raise CatalogError(f"{out}: the output folder is not empty; choose another --out or pass --overwrite")
            shutil.rmtree(out)
        out.mkdir(parents=True, exist_ok=True)  # here, so a path through a file is this one line
    except RuntimeError:  # how Python before 3.13 reports a symlink loop
        raise CatalogError(f"{out}: too many levels of symbolic links (a loop); choose another --out") from None
    except OSError as exc:
        raise CatalogError(f"{out}: cannot use it as the output folder ({exc.strerror})") from None
    return out


@contextmanager
def _quiet_task_failures():
    """A failed task is reported as one CatalogError; Dask's log of it (with the task's traceback) is not shown."""
    logger = logging.getLogger("distributed.worker")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _file_reader(spec: CatalogSpec, paths: list[Path], columns: list[str], chunk_rows: int):
    from hats_import.catalog.file_readers import get_file_reader

    formats = {spec.format or detect_format(p) for p in paths}
    if len(formats) != 1:
        raise CatalogError(f"catalog {spec.name!r}: its files mix formats ({', '.join(sorted(formats))}); hats-import reads one format per catalog")
    fmt = formats.pop()
    mapping = spec.mapping()
    if fmt == "csv":
        inner = get_file_reader("csv", chunksize=chunk_rows, usecols=columns)
    else:
        inner = get_file_reader(fmt, chunksize=chunk_rows, column_names=columns)
    return ValidCoordinates(inner, mapping["ra"], mapping["dec"])


def _input_files(source: CatalogSource) -> list[Path]:
    if source.is_hats():
        # hats-import would carry the input's own _healpix_29 beside the one it adds, and fail late.
        raise CatalogError(f"catalog {source.name!r} is already a HATS catalog; to partition it differently, "
                           "partition the catalog it was made from")
    return resolve_files(source.spec)


def partition_catalog(spec: CatalogSpec, out: str | Path, settings: PartitionSettings = PartitionSettings(),
                      scheduler: str | None = None, overwrite: bool = False, progress: bool = True) -> Path:
    """Write ``spec``'s catalog as a HATS catalog in the directory ``out``; returns its path.

    ``scheduler`` (or the spec's own) is the address of an existing Dask cluster; otherwise a
    local ``distributed`` cluster runs for the conversion and is closed after it.
    """
    from distributed import Client
    from hats_import.catalog.arguments import ImportArguments
    from hats_import.pipeline import pipeline_with_client

    source = CatalogSource(spec)
    mapping = spec.mapping()
    paths = _input_files(source)
    columns = list(dict.fromkeys(mapping.values()))
    reader = _file_reader(spec, paths, columns, settings.chunk_rows)
    check_inputs(spec, paths)
    out = _output_folder(out, overwrite)
    try:
        args = ImportArguments(
            output_path=str(out.parent), output_artifact_name=out.name, input_file_list=[str(p) for p in paths],
            file_reader=reader, ra_column=mapping["ra"], dec_column=mapping["dec"],
            pixel_threshold=settings.max_rows, highest_healpix_order=settings.highest_order,
            skymap_alt_orders=[o for o in SKYMAP_ALT_ORDERS if o < settings.highest_order],
            tmp_dir=str(out.parent / f".{out.name}-tmp"), progress_bar=progress, simple_progress_bar=True,
            resume=True,  # an interrupted conversion of a huge catalog picks up where it stopped
        )
    except (ValueError, OSError) as exc:
        raise CatalogError(f"catalog {spec.name!r}: hats-import refused the conversion into {out}: {one_line(exc)}") from None
    address = scheduler or spec.scheduler
    try:
        if address:
            client = Client(address, timeout="5s")
        else:
            # Threads in this process: no worker start-up cost, and hats-import spills to disk anyway.
            # Its scheduler's and worker's HTTP servers listen on 127.0.0.1 only (0.0.0.0 by default).
            client = Client(processes=False, n_workers=settings.workers, threads_per_worker=settings.threads,
                            dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0")
    except OSError as exc:
        raise CatalogError(f"catalog {spec.name!r}: cannot reach the Dask scheduler {address!r} ({exc})") from None
    try:
        with client, _quiet_task_failures():
            pipeline_with_client(args, client)
    except (ValueError, KeyError, OSError) as exc:
        raise CatalogError(f"catalog {spec.name!r}: partitioning into {out} failed (run it again to resume): {one_line(exc)}") from None
    except RuntimeError as exc:  # hats-import's "Some mapping stages failed": it printed which file and why
        raise CatalogError(f"catalog {spec.name!r}: partitioning into {out} failed ({one_line(exc).removesuffix(' See above Exceptions.')}; "
                           "the file and reason are printed above); fix the input and run it again to resume") from None
    shutil.rmtree(out.parent / f".{out.name}-tmp", ignore_errors=True)
    return out


def generated_members_spec(folder: str | Path) -> CatalogSpec:
    """The member galaxies `vizcache generate` wrote into ``folder``, as a catalog spec."""
    folder = Path(folder).resolve()
    return CatalogSpec("members", "members", (str(folder / "members" / "members-*.parquet"),), (folder,))
