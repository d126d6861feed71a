"""What every browser session of one server process shares: config, cache, catalogs, RSS history.

Sessions come and go; the cache must not. One :class:`ViewerRuntime` per config file lives in
``pn.state.cache`` (Panel's process-wide store), so concurrent sessions hit the same entries and
single-flight keeps them from loading one catalog twice.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..cache import Cache, Sized
from ..cache_key import CacheKey
from ..catalogs.crossmatch import Crossmatch, crossmatch
from ..catalogs.generate import generate
from ..catalogs.lsdb_tier import DataTier, lsdb_crossmatch
from ..catalogs.readers import CatalogError
from ..catalogs.source import Catalog, CatalogSource, resolve_files
from ..config import Config, load_config
from ..live.shadows import attach as attach_shadows

ENV_CONFIG = "VIZCACHE_CONFIG"
#: how long a catalog's version is trusted before its files are globbed and stat'ed again: a switch
#: to a cached catalog is then a lookup, and a file replaced on disk is seen within this many seconds
VERSION_RECHECK_S = 2.0
_RUNTIMES_LOCK = threading.Lock()


def default_config_path() -> Path:
    """The packaged default config; its relative paths resolve against the working directory."""
    return Path(str(resources.files("vizcache.viewer") / "default.toml"))


def config_path_from(argv: list[str], environ: dict[str, str]) -> tuple[Path, Path | None]:
    """(config file, base folder) from ``--config FILE`` in argv, else $VIZCACHE_CONFIG, else the default.

    Only the packaged default gets a base (the working directory); a user's file resolves
    paths against its own folder.
    """
    if "--config" in argv:
        i = argv.index("--config")
        if i + 1 < len(argv):
            return Path(argv[i + 1]), None
    if environ.get(ENV_CONFIG):
        return Path(environ[ENV_CONFIG]), None
    return default_config_path(), Path.cwd()


@dataclass
class GenerationStatus:
    running: bool = False
    fraction: float = 0.0
    message: str = ""
    error: str | None = None
    done: bool = False


class ViewerRuntime:
    """The shared state behind every session: one cache, one trace, the catalogs, RSS samples."""

    def __init__(self, config: Config, sample_every: float = 0.5) -> None:
        self.config = config
        self.base = config.base
        self.cache = Cache(config.policy, trace=config.trace)
        self.shadows = attach_shadows(self.cache)  # the live A/B (docs/live-ab.md): every request, from the first
        self.sources = {name: CatalogSource(spec) for name, spec in config.catalogs.items()}
        self.rss_history: deque[tuple[float, int, int]] = deque(maxlen=1200)  # (time, RSS, bytes the cache owns)
        self.generation = GenerationStatus()
        self._keys: dict[str, tuple[CacheKey, float]] = {}  # name -> (its key, when its files were last checked)
        self._peaks: dict[CacheKey, int | None] = {}  # a version's expected load peak, read from its files once
        self._lock = threading.Lock()
        self._sample_every = sample_every
        # [dask]: HATS counts and the finder crossmatch on a cluster, through one Client made at first use
        self.data_tier = DataTier(config.dask) if config.dask is not None else None
        threading.Thread(target=self._sample_rss, name="vizcache-rss-sampler", daemon=True).start()

    def _sample_rss(self) -> None:
        while True:
            self.rss_history.append((time.time(), self.cache.rss_unmetered(), self.cache.managed_bytes()))
            time.sleep(self._sample_every)

    # -- data on disk ------------------------------------------------------------------

    def missing_catalogs(self) -> dict[str, str]:
        """Catalogs whose files cannot be found now, with the reason."""
        missing = {}
        for name, source in self.sources.items():
            try:
                for path in resolve_files(source.spec):
                    if not path.exists():
                        raise CatalogError(f"{path}: file not found")
            except CatalogError as exc:
                missing[name] = str(exc)
        return missing

    def needs_generation(self) -> bool:
        return bool(self.config.generate) and bool(self.missing_catalogs()) and not self.generation.done

    def start_generation(self) -> None:
        """Generate the configured preset once, in the background, however many sessions ask."""
        with self._lock:
            if self.generation.running or self.generation.done:
                return
            self.generation.running = True
        threading.Thread(target=self._generate, name="vizcache-generate", daemon=True).start()

    def _generate(self) -> None:
        status = self.generation
        preset = self.config.generate
        out = self.config.folders[0] / preset

        def progress(fraction: float, message: str) -> None:
            status.fraction, status.message = fraction, message

        try:
            generate(out, preset, progress=progress)
            status.done = True
        except Exception as exc:  # shown in the page; the server stays up
            status.error = f"generating the {preset!r} data set into {out} failed: {exc}"
        finally:
            status.running = False

    # -- catalogs through the cache ----------------------------------------------------

    def is_cached(self, name: str) -> bool:
        """Whether the named catalog's current version is in the cache (a switch to it is a hit)."""
        with self._lock:
            known = self._keys.get(name)
        return known is not None and known[0] in self.cache

    def key(self, name: str) -> CacheKey:
        """The named catalog's cache key: its name and the version of its files, rechecked every few seconds."""
        now = time.monotonic()
        with self._lock:
            known = self._keys.get(name)
        if known is not None and now - known[1] < VERSION_RECHECK_S:
            return known[0]
        key = CacheKey(name, self.sources[name].version())
        with self._lock:
            self._keys[name] = (key, now)
        if known is not None and known[0] != key:
            self.cache.invalidate(known[0])  # the files changed: the old version is dead weight
            with self._lock:
                self._peaks.pop(known[0], None)
        return key

    def load(self, name: str) -> Catalog:
        """The named catalog, through the configured policy. Raises CatalogError with a clear message."""
        if name not in self.sources:
            raise CatalogError(f"unknown catalog {name!r}; configured catalogs: {', '.join(self.sources)}")
        key = self.key(name)
        return self.cache.get_or_load(key, self.sources[name].load, expected_bytes=self.expected_peak(key))

    def crossmatch(self, name_a: str, name_b: str, radius_arcsec: float, dz: float, radius_mpc: float | None = None,
                   both_ways: bool = False, row_filter=None) -> Crossmatch:
        """The finder comparison's matches of two catalogs (the rows ``row_filter`` passes, each catalog filtered on the
        columns it has): one cache entry under the policy per their versions, the filter and the options, shared by
        every session; the candidate pairs found on the [dask] cluster when there is one."""
        a, b = self.load(name_a), self.load(name_b)
        radius = f"radius {radius_arcsec:.17g} arcsec" if radius_mpc is None else f"radius {radius_mpc:.17g} Mpc"
        signature = row_filter.signature() if row_filter is not None else "no filter"
        key = CacheKey(f"{name_a}×{name_b}", f"{self.key(name_a).version}+{self.key(name_b).version}",
                       ("matches", radius, f"dz {dz:.17g}", "both ways" if both_ways else "closest first", signature))

        def passing(frame):
            mask = None if row_filter is None else row_filter.mask(frame)
            return frame if mask is None else frame[mask.to_numpy(dtype=bool, na_value=False)].reset_index(drop=True)

        def match() -> Sized:
            tier, options = self.data_tier, dict(radius_mpc=radius_mpc, both_ways=both_ways)
            rows_a, rows_b = passing(a.data), passing(b.data)
            found = (crossmatch(rows_a, rows_b, radius_arcsec, dz, **options) if tier is None
                     else lsdb_crossmatch(tier, rows_a, rows_b, radius_arcsec, dz, **options))
            # Its own arrays, and the filtered rows it holds: unfiltered catalogs are entries of their own.
            held = sum(v.nbytes for v in (found.a_to_b, found.b_to_a, found.pairs, found.separation_arcsec))
            held += sum(int(rows.memory_usage(deep=True).sum()) for rows, whole in ((rows_a, a.data), (rows_b, b.data)) if rows is not whole)
            return Sized(found, held)

        return self.cache.get_or_load(key, match)

    def expected_peak(self, key: CacheKey) -> int | None:
        """What loading ``key``'s version will take at its peak (the Parquet footers, read once per version),
        so that the cache makes room for the load's peak before it starts, not for what it keeps."""
        with self._lock:
            if key in self._peaks:
                return self._peaks[key]
        peak = self.sources[key.name].expected_load_bytes()
        with self._lock:
            self._peaks[key] = peak
        return peak


def get_runtime(config_path: Path, base: Path | None = None) -> ViewerRuntime:
    """The process-wide runtime for a config file, created on first use."""
    import panel as pn

    key = ("vizcache-runtime", str(Path(config_path).resolve()), str(base))
    with _RUNTIMES_LOCK:
        runtime = pn.state.cache.get(key)
        if runtime is None:
            runtime = pn.state.cache[key] = ViewerRuntime(load_config(config_path, base=base))
    return runtime


def runtime_from_environment() -> ViewerRuntime:
    path, base = config_path_from(sys.argv, dict(os.environ))
    return get_runtime(path, base)
