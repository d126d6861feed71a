"""HATS catalogs: Parquet partitioned by HEALPix pixel, read one partition at a time.

A HATS catalog (Hierarchical Adaptive Tiling Scheme, the format of ``hats``, ``hats-import``
and LSDB) is a directory with a ``properties`` file (total rows, columns, skymap orders),
``partition_info.csv`` (one HEALPix pixel per partition, of adaptive order), a point-count
skymap (rows per pixel at a fixed order) and ``dataset/Norder=K/Dir=D/Npix=P.parquet``.

Everything here that describes the catalog (rows, partitions, orders, coverage, density)
comes from that metadata and the skymap, never from the data files; a partition's rows are
read only when asked for, and only the mapped columns.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .projections import ra_extent
from .readers import (
    CatalogError,
    ReadReport,
    add_projection,
    normalise,
    one_line,
    read_source_file,
)

HATS_FORMAT = "hats"
#: files whose (size, mtime) identify a version of the catalog: re-partitioning changes them
_VERSION_FILES = ("properties", "hats.properties", "partition_info.csv", "dataset/_metadata")


def open_hats(path: Path, name: str):
    """The ``hats`` Catalog at ``path`` (the main catalog of a collection), or one CatalogError."""
    import hats
    from hats.catalog.catalog_collection import CatalogCollection

    if not path.is_dir():
        raise CatalogError(f"catalog {name!r}: {path} is not a directory; format = 'hats' needs a HATS catalog "
                           "directory (properties, partition_info.csv, dataset/)")
    try:
        catalog = hats.read_hats(path)
    except (ValueError, OSError, KeyError, TypeError, IndexError) as exc:  # TypeError: a partition_info.csv of text
        raise CatalogError(f"catalog {name!r}: {path} is not a readable HATS catalog ({_problem(path, exc)}); expected properties, "
                           "partition_info.csv and dataset/ as written by `vizcache partition` or hats-import") from None
    if isinstance(catalog, CatalogCollection):
        catalog = catalog.main_catalog
    if not hasattr(catalog, "get_healpix_pixels"):
        raise CatalogError(f"catalog {name!r}: {path} is a HATS {type(catalog).__name__}, not a catalog of rows")
    return catalog


def _problem(path: Path, exc: Exception) -> str:
    """What ``hats`` found wrong, on one line: a properties file's bad keys one by one, not pydantic's report of them."""
    errors = getattr(exc, "errors", None)  # pydantic's ValidationError: a block of lines per key
    if not callable(errors):
        return one_line(exc)
    properties = next((f for f in ("hats.properties", "properties") if (path / f).is_file()), "properties")
    keys = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(file)'}: {e['msg']}" for e in errors())
    return one_line(f"its {properties} file: {keys}")


def pixel_key(pixel) -> str:
    return f"Norder={pixel.order}/Npix={pixel.pixel}"


def pixel_area_deg2(order: int) -> float:
    return 4 * np.pi * (180 / np.pi) ** 2 / (12 * 4**order)


def density_frame(order: int, pixels: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
    """HEALPix pixels of ``order`` holding ``rows`` rows each, as points: centre, rows, rows per square degree."""
    ra, dec = pixel_centres(order, pixels)
    frame = pd.DataFrame({"ra": ra.astype(np.float32), "dec": dec.astype(np.float32),
                          "rows": np.asarray(rows, dtype=np.int64), "density": (np.asarray(rows) / pixel_area_deg2(order)).astype(np.float32)})
    frame.attrs["healpix_order"] = order
    return add_projection(frame)


def healpix_of(order: int, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """NESTED HEALPix pixels of ``order`` holding the points (ra, dec in degrees)."""
    import astropy.units as u
    from astropy.coordinates import Latitude, Longitude
    from cdshealpix.nested import lonlat_to_healpix

    return np.asarray(lonlat_to_healpix(Longitude(ra * u.deg), Latitude(dec * u.deg), order), dtype=np.int64)


def pixel_centres(order: int, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ra, dec) in degrees of NESTED HEALPix pixels of ``order``."""
    from cdshealpix.nested import healpix_to_lonlat

    lon, lat = healpix_to_lonlat(np.asarray(pixels, dtype=np.uint64), order)
    return np.asarray(lon.deg, dtype=np.float64), np.asarray(lat.deg, dtype=np.float64)


@dataclass
class HatsCatalog:
    """One opened HATS catalog with the config's column mapping.

    ``partitions`` are ``hats.HealpixPixel`` objects; ``load_partition`` reads one of them into
    canonical columns (the same frame a Parquet catalog of those rows would give).
    """

    name: str
    path: Path
    mapping: dict[str, str]
    missing: dict[str, list[float]]
    float64: frozenset[str]

    def __post_init__(self) -> None:
        self.catalog = open_hats(self.path, self.name)
        names = list(self.catalog.schema.names) if self.catalog.schema is not None else []
        absent = [c for c in dict.fromkeys(self.mapping.values()) if c not in names]
        if absent:
            raise CatalogError(f"{self.path}: HATS catalog has no column(s) {', '.join(absent)}; its columns: {', '.join(names)}")
        self.partitions = list(self.catalog.get_healpix_pixels())
        self.version = hats_fingerprint(self.path)
        self._counts = None  # rows per partition, from the skymap

    @property
    def properties(self):
        return self.catalog.catalog_info

    @property
    def total_rows(self) -> int:
        return int(self.properties.total_rows or 0)

    def partition_file(self, pixel) -> Path:
        from hats.io import paths

        return Path(str(paths.pixel_catalog_file(self.catalog.catalog_base_dir, pixel, npix_suffix=self.properties.npix_suffix)))

    # -- skymap: density without reading rows ------------------------------------------

    def skymap_orders(self) -> list[int]:
        orders = set(self.properties.skymap_alt_orders or [])
        if self.properties.skymap_order is not None:
            orders.add(int(self.properties.skymap_order))
        return sorted(orders)

    def skymap(self, order: int | None = None) -> tuple[int, np.ndarray]:
        """(order, rows per pixel) of the point-count skymap, at ``order`` or the finest stored."""
        from hats.io.skymap import read_skymap

        orders = self.skymap_orders()
        if not orders:
            raise CatalogError(f"{self.path}: this HATS catalog has no point-count skymap (skymap.fits); re-partition it with `vizcache partition`")
        order = max(orders) if order is None else min(order, max(orders))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # astropy's lines about a damaged file: the error below says it once
                return order, np.asarray(read_skymap(self.catalog, order), dtype=np.int64)
        except (OSError, ValueError, TypeError, IndexError) as exc:  # IndexError: astropy on a cut-off FITS file
            raise CatalogError(f"{self.path}: the HATS catalog's order {order} skymap is not readable ({one_line(exc)}); "
                               "re-partition it with `vizcache partition`") from None

    def partition_rows(self) -> dict:
        """Rows of each partition, summed from the finest skymap (no data file is opened)."""
        if self._counts is None:
            order, counts = self.skymap()
            cumulative = np.concatenate([[0], np.cumsum(counts)])
            rows = {}
            for p in self.partitions:
                if p.order <= order:
                    shift = 4 ** (order - p.order)
                    rows[p] = int(cumulative[(p.pixel + 1) * shift] - cumulative[p.pixel * shift])
                else:  # partition finer than the skymap: its share of the parent pixel
                    rows[p] = int(counts[p.pixel // 4 ** (p.order - order)] // 4 ** (p.order - order))
            self._counts = rows
        return self._counts

    def density(self, order: int) -> pd.DataFrame:
        """Non-empty skymap pixels at ``order`` as points: centre, rows, rows per square degree."""
        order, counts = self.skymap(order)
        pixels = np.flatnonzero(counts)
        return density_frame(order, pixels, counts[pixels])

    # -- rows of one partition ---------------------------------------------------------

    def load_partition(self, pixel) -> pd.DataFrame:
        """One partition's rows in canonical columns (only the mapped columns are read)."""
        return add_projection(self.load_columns(pixel, list(self.mapping)))

    def load_columns(self, pixel, columns: list[str]) -> pd.DataFrame:
        """One partition's canonical ``columns`` that the mapping has, with ra and dec; nothing else is read."""
        wanted = {"ra", "dec", *columns}
        mapping = {c: source for c, source in self.mapping.items() if c in wanted}
        path = self.partition_file(pixel)
        raw = read_source_file(path, HATS_FORMAT, list(dict.fromkeys(mapping.values())))
        return normalise(raw, mapping, self.missing, set(self.float64), str(path), ReadReport())

    # -- catalog-info ------------------------------------------------------------------

    def info(self) -> dict:
        """Rows, partitions, orders and coverage, from properties, partition_info and the skymap."""
        orders = pd.Series([p.order for p in self.partitions]).value_counts().sort_index()
        rows = self.partition_rows()
        sizes = np.array(list(rows.values())) if rows else np.zeros(1)
        coverage = self.properties.moc_sky_fraction
        if coverage is None and self.catalog.moc is not None:
            coverage = float(self.catalog.moc.sky_fraction)
        order, counts = self.skymap()
        occupied = float(np.mean(counts > 0))
        ra, dec = pixel_centres(order, np.flatnonzero(counts))
        half = np.sqrt(pixel_area_deg2(order)) / 2  # about half a pixel's side, in degrees

        return {
            "name": self.name, "format": HATS_FORMAT, "path": str(self.path), "fingerprint": self.version,
            "rows": self.total_rows, "partitions": len(self.partitions),
            "healpix_orders": {int(k): int(v) for k, v in orders.items()},
            "rows_per_partition": {"min": int(sizes.min()), "median": float(np.median(sizes)), "max": int(sizes.max())},
            "sky_fraction": None if coverage is None else float(coverage),  # of the partitions (their MOC)
            "occupied_sky_fraction": occupied, "occupied_order": order,  # of skymap pixels holding rows
            "skymap_orders": self.skymap_orders(),
            "ra_extent": list(ra_extent(ra)) if len(ra) else None,
            "dec_range": [float(max(dec.min() - half, -90)), float(min(dec.max() + half, 90))] if len(dec) else None,
            "columns": {c: {"source": s, "dtype": str(self.catalog.schema.field(s).type)} for c, s in self.mapping.items()},
        }


def hats_fingerprint(path: Path) -> str:
    """Short hash of the catalog's metadata files (size, mtime): changes when it is re-partitioned."""
    h = hashlib.sha1(str(path).encode())
    for rel in _VERSION_FILES:
        f = path / rel
        if f.exists():
            st = f.stat()
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:12]
