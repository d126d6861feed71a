"""Write any configured catalog as a HATS catalog with hats-import, out of core, on Dask.

hats-import reads the input in chunks, bins rows by HEALPix pixel, and writes one Parquet file
per partition (split adaptively so no partition exceeds ``max_rows``), plus the catalog's
``properties``, ``partition_info.csv`` and point-count skymaps. Only the mapped source columns
are kept, under their source names, so the same column mapping reads the result.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from hats_import.catalog.file_readers.input_reader import InputReader

from .readers import CatalogError, detect_format
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
            ra = np.asarray(chunk[self.ra], dtype=np.float64)
            dec = np.asarray(chunk[self.dec], dtype=np.float64)
            keep = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
            if keep.all():
                yield chunk
            elif isinstance(chunk, pd.DataFrame):
                yield chunk[keep].reset_index(drop=True)
            else:
                yield chunk.filter(pa.array(keep))


def _file_reader(spec: CatalogSpec, paths: list[Path], columns: list[str]):
    from hats_import.catalog.file_readers import get_file_reader

    formats = {spec.format or detect_format(p) for p in paths}
    if len(formats) != 1:
        raise CatalogError(f"catalog {spec.name!r}: its files mix formats ({', '.join(sorted(formats))}); hats-import reads one format per catalog")
    fmt = formats.pop()
    mapping = spec.mapping()
    inner = get_file_reader("csv", usecols=columns) if fmt == "csv" else get_file_reader(fmt, column_names=columns)
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

    out = Path(out).resolve()
    source = CatalogSource(spec)
    mapping = spec.mapping()
    paths = _input_files(source)
    columns = list(dict.fromkeys(mapping.values()))
    reader = _file_reader(spec, paths, columns)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise CatalogError(f"{out}: the output folder is not empty; choose another --out or pass --overwrite")
        shutil.rmtree(out)
    try:
        args = ImportArguments(
            output_path=str(out.parent), output_artifact_name=out.name, input_file_list=[str(p) for p in paths],
            file_reader=reader, ra_column=mapping["ra"], dec_column=mapping["dec"],
            pixel_threshold=settings.max_rows, highest_healpix_order=settings.highest_order,
            skymap_alt_orders=[o for o in SKYMAP_ALT_ORDERS if o < settings.highest_order],
            tmp_dir=str(out.parent / f".{out.name}-tmp"), progress_bar=progress, simple_progress_bar=True,
            resume=True,  # an interrupted conversion of a huge catalog picks up where it stopped
        )
    except ValueError as exc:
        raise CatalogError(f"catalog {spec.name!r}: hats-import refused the conversion into {out}: {exc}") from None
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
        with client:
            pipeline_with_client(args, client)
    except (ValueError, KeyError, OSError) as exc:
        raise CatalogError(f"catalog {spec.name!r}: partitioning into {out} failed (run it again to resume): {exc}") from None
    shutil.rmtree(out.parent / f".{out.name}-tmp", ignore_errors=True)
    return out


def generated_members_spec(folder: str | Path) -> CatalogSpec:
    """The member galaxies `vizcache generate` wrote into ``folder``, as a catalog spec."""
    folder = Path(folder).resolve()
    return CatalogSpec("members", "members", (str(folder / "members" / "members-*.parquet"),), (folder,))
