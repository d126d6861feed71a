"""The data tier on Dask distributed, through LSDB: HATS partitions counted and catalogs crossmatched on a
cluster's workers instead of the web process's threads (the config's ``[dask]`` table).

One ``distributed.Client`` per server process, made at the first use and reused by every session; never
the process's default client (``set_as_default=False``), so no other Dask work moves to it by accident,
and never a forked parent's (its sockets belong to the parent). ``scheduler = "local"`` starts a
``LocalCluster`` beside the process (its own worker processes); an address joins a running scheduler.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .hats import HatsCatalog, healpix_of, pixel_key
from .readers import CatalogError, ReadReport, normalise, one_line

#: seconds to wait for a scheduler named by address before saying it cannot be reached
CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class DaskSettings:
    """The ``[dask]`` table: a scheduler's address or "local" (with the LocalCluster's size)."""

    scheduler: str
    workers: int = 2
    threads_per_worker: int = 1
    memory_limit: str | int = "auto"


class DataTier:
    """A lazily made Client on the configured cluster, shared by the process's sessions.

    >>> tier = DataTier(DaskSettings("local", workers=2))
    >>> counts = tier.pixel_counts(hats, 8, ["z"], keep, pixels)   # {pixel: Future of (pixels, counts)}
    """

    def __init__(self, settings: DaskSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._client = self._cluster = None
        self._pid = None
        self._opened: dict = {}  # (path, version, columns) -> the lsdb catalog and its partitions' delayed
        atexit.register(self.close)

    def client(self):
        """The process's Client, made on first use (and again in a forked child)."""
        from distributed import Client, LocalCluster

        with self._lock:
            if self._client is None or self._pid != os.getpid():
                s = self.settings
                if s.scheduler == "local":
                    self._cluster = LocalCluster(n_workers=s.workers, threads_per_worker=s.threads_per_worker, memory_limit=s.memory_limit,
                                                 processes=True, dashboard_address=None)
                    self._client = Client(self._cluster, set_as_default=False)
                else:
                    self._cluster = None
                    try:
                        self._client = Client(s.scheduler, set_as_default=False, timeout=f"{CONNECT_TIMEOUT}s")
                    except (OSError, TimeoutError, ValueError) as exc:  # one line for the page and the log, the server stays up
                        raise CatalogError(f"[dask] scheduler = {s.scheduler!r} cannot be reached ({one_line(exc)})") from None
                self._pid, self._opened = os.getpid(), {}
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._pid == os.getpid():
                self._client.close()
                if self._cluster is not None:
                    self._cluster.close()
            self._client = self._cluster = None

    def _partitions(self, hats: HatsCatalog, columns: list[str]) -> dict:
        """{pixel key: Delayed frame of the partition's source ``columns``} through ``lsdb.open_catalog``."""
        import lsdb

        key = (str(hats.path), hats.version, tuple(columns))
        with self._lock:
            found = self._opened.get(key)
        if found is None:
            catalog = lsdb.open_catalog(hats.path, columns=columns)
            found = {pixel_key(p): part for p, part in zip(catalog.get_healpix_pixels(), catalog.to_delayed())}
            with self._lock:
                self._opened[key] = found
        return found

    def partition_rows(self, hats: HatsCatalog, pixel) -> Future:
        """A Future of one partition's rows in canonical columns with their projection, read and made on a worker:
        the frame ``HatsCatalog.load_partition`` gives in this process."""
        from dask import delayed

        parts = self._partitions(hats, list(dict.fromkeys(hats.mapping.values())))
        task = delayed(_partition_rows, pure=True)(parts[pixel_key(pixel)], hats.mapping, hats.missing, hats.float64)
        return self.client().compute(task)

    def pixel_counts(self, hats: HatsCatalog, order: int, columns: list[str], keep: Callable[[pd.DataFrame], object],
                     pixels: list) -> dict:
        """{partition: Future of (HEALPix pixels of ``order``, rows passing ``keep`` in each)}, computed on the workers.

        The same numbers as counting each partition in this process (viewer/partitions.py's FilteredCounts):
        the partition's rows in canonical columns (``normalise``, as a local read does), ``keep``, then counts.
        """
        from dask import delayed

        wanted = {"ra", "dec", *columns}
        mapping = {c: source for c, source in hats.mapping.items() if c in wanted}
        parts = self._partitions(hats, list(dict.fromkeys(mapping.values())))
        count = delayed(_count_partition, pure=True)
        tasks = {p: count(parts[pixel_key(p)], mapping, hats.missing, hats.float64, order, keep) for p in pixels}
        futures = self.client().compute(list(tasks.values()))
        return dict(zip(tasks, futures))


_SCHEDULER_CLIENTS: dict[tuple[int, str], object] = {}
_SCHEDULER_LOCK = threading.Lock()


def scheduler_client(address: str):
    """The process's Client on ``address`` for ``backend = "dask"`` catalogs, made once per process and address and
    reused by every load (it was one more Client per load). It is Dask's default: those catalogs' frames are computed
    wherever Dask computes (datashader, counts), which only a default client reaches."""
    from distributed import Client

    key = (os.getpid(), address)
    with _SCHEDULER_LOCK:
        client = _SCHEDULER_CLIENTS.get(key)
        if client is None or client.status in ("closing", "closed"):
            client = _SCHEDULER_CLIENTS[key] = Client(address, set_as_default=True, timeout="5s")
        return client


def _partition_rows(raw: pd.DataFrame, mapping: dict, missing: dict, float64: frozenset) -> pd.DataFrame:
    from .readers import add_projection

    return add_projection(normalise(raw.reset_index(drop=True), mapping, missing, set(float64), "HATS partition", ReadReport()))


def _count_partition(raw: pd.DataFrame, mapping: dict, missing: dict, float64: frozenset, order: int, keep) -> tuple[np.ndarray, np.ndarray]:
    frame = normalise(raw.reset_index(drop=True), mapping, missing, set(float64), "HATS partition", ReadReport())
    mask = keep(frame)
    if mask is not None:
        frame = frame[np.asarray(mask, dtype=bool)]
    return np.unique(healpix_of(order, frame["ra"].to_numpy(np.float64), frame["dec"].to_numpy(np.float64)), return_counts=True)


def completed(futures: dict) -> Iterator[tuple[object, Future]]:
    """(partition, future) as each finishes."""
    from distributed import as_completed

    if not futures:
        return
    back = {id(f): p for p, f in futures.items()}
    loop = next(iter(futures.values())).client.loop  # else as_completed asks for the process's default client: never the tier's
    for future in as_completed(list(futures.values()), loop=loop):
        yield back[id(future)], future


def candidate_pairs(tier: DataTier, a: pd.DataFrame, b: pd.DataFrame, radius_arcsec: float) -> tuple[np.ndarray, np.ndarray]:
    """(A positions, B positions) of every pair closer than ``radius_arcsec``: lsdb's KD-tree crossmatch on the
    cluster, B with a margin as wide as the radius (pairs across partition borders), and as many neighbours as
    any A has (doubled until no A fills them: every pair, as astropy's search_around_sky finds)."""
    import lsdb

    def catalog(frame: pd.DataFrame, margin: float | None):
        rows = pd.DataFrame({"ra": frame["ra"].to_numpy(np.float64), "dec": frame["dec"].to_numpy(np.float64), "row": np.arange(len(frame))})
        return lsdb.from_dataframe(rows, ra_column="ra", dec_column="dec", margin_threshold=margin, use_pyarrow_types=False)

    left, right = catalog(a, None), catalog(b, radius_arcsec)
    neighbours = 8
    while True:
        matches = left.crossmatch(right, n_neighbors=neighbours, radius_arcsec=radius_arcsec, suffixes=("_a", "_b"), log_changes=False)
        found = tier.client().compute(matches.to_dask_dataframe()[["row_a", "row_b"]]).result()
        ia, ib = found["row_a"].to_numpy(np.int64), found["row_b"].to_numpy(np.int64)
        if len(ia) == 0 or np.bincount(ia).max() < neighbours or neighbours >= len(b):
            order = np.lexsort((ia, ib))
            return ia[order], ib[order]
        neighbours *= 2


def lsdb_crossmatch(tier: DataTier, a: pd.DataFrame, b: pd.DataFrame, radius_arcsec: float = 180.0, dz: float = 0.15,
                    radius_mpc: float | None = None, both_ways: bool = False):
    """:func:`catalogs.crossmatch.crossmatch` with its candidate pairs found on the cluster through LSDB."""
    from .crossmatch import angular_radius, crossmatch

    options = dict(radius_mpc=radius_mpc, both_ways=both_ways)
    if len(a) == 0 or len(b) == 0 or not radius_arcsec > 0 or radius_mpc is not None and not radius_mpc > 0:
        return crossmatch(a, b, radius_arcsec, dz, **options)  # nothing to search, or the bad radius named there
    search = float(angular_radius(a, radius_arcsec, radius_mpc).max())
    return crossmatch(a, b, radius_arcsec, dz, candidates=candidate_pairs(tier, a, b, search), **options)
