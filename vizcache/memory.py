"""Memory probes: process RSS (fast path), cgroup limits, system memory, and giving memory back.

RSS is read with ``os.pread`` on a kept-open ``/proc/self/statm`` (about 1.4 µs) because
psutil costs about 9 µs a call and the miss path reads RSS several times; psutil stays the
fallback where /proc is missing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import os
import threading
import time
import weakref
from pathlib import Path

import psutil

from .config_file import ConfigError
from .units import format_bytes

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# cgroup v1 reports "no limit" as a huge page-rounded number; anything above this is unlimited.
_CGROUP_UNLIMITED = 2**60


class RSSProbe:
    """Callable returning this process's resident set size in bytes.

    ``/proc/self`` is resolved when the file is opened, so a forked child would keep reading
    its parent's figure through an inherited descriptor (and psutil caches the pid the same
    way): every probe re-opens both in the child, through ``os.register_at_fork``.

    >>> probe = RSSProbe()
    >>> probe() > 0
    True
    """

    def __init__(self) -> None:
        self._fd: int | None = None
        self._open()
        _PROBES.add(self)

    def _open(self) -> None:
        self._process = psutil.Process()
        try:
            self._fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self._fd = None
        self.method = "statm" if self._fd is not None else "psutil"

    def _reopen_after_fork(self) -> None:
        try:
            self.close()
        except OSError:  # the inherited descriptor may be gone already; a new one is what matters
            self._fd = None
        self._open()

    def __call__(self) -> int:
        if self._fd is not None:
            # statm: size resident shared ... in pages; pread needs no seek, so threads can share the fd.
            return int(os.pread(self._fd, 64, 0).split()[1]) * _PAGE_SIZE
        return self._process.memory_info().rss

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self.method = "psutil"

    def __del__(self) -> None:  # the fd is per probe; do not leak it
        try:
            self.close()
        except Exception:
            pass


_PROBES: weakref.WeakSet[RSSProbe] = weakref.WeakSet()


def _reopen_probes_in_child() -> None:
    for probe in list(_PROBES):
        try:
            probe._reopen_after_fork()
        except Exception:  # one broken probe must not leave the others reading the parent
            probe._fd = None
            probe.method = "psutil"


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reopen_probes_in_child)


def peak_rss() -> int | None:
    """The kernel's high-water mark of this process's RSS (VmHWM), or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _read_limit(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if not text or text == "max":
        return None
    value = int(text)
    return None if value >= _CGROUP_UNLIMITED else value


def cgroup_memory_limit(root: Path = Path("/sys/fs/cgroup"), proc_cgroup: Path = Path("/proc/self/cgroup")) -> int | None:
    """The tightest memory limit of this process's cgroup and its ancestors (v2 or v1), or None."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    limits: list[int] = []
    for line in lines:
        hierarchy, controllers, rel = (line.split(":", 2) + ["", ""])[:3]
        if hierarchy == "0" and controllers == "":  # cgroup v2 unified hierarchy
            base, filename = root, "memory.max"
        elif "memory" in controllers.split(","):  # cgroup v1 memory controller
            base, filename = root / "memory", "memory.limit_in_bytes"
        else:
            continue
        parts = [p for p in rel.strip().split("/") if p]
        # Walk from the process's own cgroup up to the root: a parent's limit also binds us.
        for depth in range(len(parts), -1, -1):
            limit = _read_limit(base.joinpath(*parts[:depth], filename))
            if limit is not None:
                limits.append(limit)
    return min(limits) if limits else None


def system_memory() -> tuple[int, int]:
    """(total, available) physical memory in bytes."""
    vm = psutil.virtual_memory()
    return vm.total, vm.available


def rss_rlimit() -> int | None:
    """This process's RLIMIT_RSS (soft limit, the one in force), or None when unlimited or unknown."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_RSS)
    return None if soft == resource.RLIM_INFINITY or soft <= 0 else soft


#: what limit="auto" takes of the tightest memory bound: the RSS policies evict from high_water (0.8) of
#: the limit, so RSS between loads stays under 64 % of the bound, leaving the rest for a load's own peak
#: and the sessions; the whole bound (what "auto" was for a cgroup) got server processes OOM-killed
AUTO_FRACTION = 0.8
#: how many server processes share the bound: `vizcache serve --num-procs N` sets it for its children
ENV_PROCESSES = "VIZCACHE_PROCESSES"
MAX_PROCESSES = 64


def server_processes(environ: dict[str, str] | None = None) -> int:
    """The number of server processes sharing this machine's (or container's) memory: ``VIZCACHE_PROCESSES``, 1 if unset."""
    text = (os.environ if environ is None else environ).get(ENV_PROCESSES, "").strip()
    if not text:
        return 1
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_PROCESSES):
        raise ConfigError(f"environment variable {ENV_PROCESSES}={text[:40]!r} is not allowed: "
                          f"use a whole number of server processes from 1 to {MAX_PROCESSES}")
    return int(text)


def memory_bound() -> tuple[int, str]:
    """The tightest of physical RAM, the cgroup limit (v2 ``memory.max`` or v1) and RLIMIT_RSS, and which one it is
    (dask/distributed's ``system.memory_limit``)."""
    bounds = [(system_memory()[0], "physical RAM"), (cgroup_memory_limit(), "cgroup limit"), (rss_rlimit(), "RLIMIT_RSS")]
    return min(((size, what) for size, what in bounds if size is not None), key=lambda bound: bound[0])


def auto_memory_limit(fraction: float = AUTO_FRACTION, processes: int | None = None) -> tuple[int, str]:
    """The limit "auto" stands for, and what it was derived from: ``fraction`` of :func:`memory_bound`,
    divided by the number of server processes sharing it (``processes``, else :func:`server_processes`).

    As dask/distributed's LocalCluster gives each of its N workers 1/N of the bound; the fraction
    keeps the room dask's pause/terminate thresholds keep (a load's peak goes above the limit).

    >>> limit, source = auto_memory_limit(0.5, processes=2)
    >>> limit == int(memory_bound()[0] * 0.5) // 2 and source.startswith("50 % of the ") and source.endswith(" / 2 processes")
    True
    """
    bound, what = memory_bound()
    n = server_processes() if processes is None else processes
    share = f" / {n} processes" if n > 1 else ""
    return int(bound * fraction) // n, f"{fraction * 100:g} % of the {format_bytes(bound)} {what}{share}"


def _libc_function(name: str):
    """A glibc function by name, or None off glibc."""
    library = ctypes.util.find_library("c")
    if not library:
        return None
    try:
        return getattr(ctypes.CDLL(library), name, None)
    except OSError:
        return None


_malloc_trim = _libc_function("malloc_trim")


_M_TRIM_THRESHOLD = -1  # mallopt parameter numbers, from glibc's malloc.h


def tune_allocator(trim_threshold: int = 65536) -> bool:
    """Have glibc hand freed heap memory back to the OS as soon as more than ``trim_threshold``
    bytes are free at the top of the heap, as dask/distributed does for its workers
    (``MALLOC_TRIM_THRESHOLD_=65536``).

    By default glibc raises its thresholds after large frees and keeps up to 32 MiB, so a
    load's transient memory (read buffers, conversions: several times a catalog's size) stays
    in RSS, RSS-driven decisions see memory nobody holds, and an explicit ``malloc_trim`` after
    the fact costs milliseconds. Process-wide: call it once at start-up. Returns whether glibc's
    ``mallopt`` was there to call.
    """
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    return bool(mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)))


#: Arrow's C++ default pool is chosen once, when pyarrow loads, from this variable. The Parquet
#: reader's page buffers come from that pool whatever ``pyarrow.set_memory_pool`` says, and
#: mimalloc (the default) keeps what they freed: 10-16 MiB of RSS after a process's first
#: 10⁵-10⁶-row load (docs/performance.md). So processes vizcache starts get the system allocator.
ARROW_POOL_ENVIRONMENT = {"ARROW_DEFAULT_MEMORY_POOL": "system"}


def loading_process_environment(environ: dict[str, str]) -> dict[str, str]:
    """``environ`` for a process vizcache starts that loads catalogs (the viewer's server, compare's
    workers): Arrow's C++ pool the system allocator, unless ``environ`` names one."""
    return {**ARROW_POOL_ENVIRONMENT, **environ}


@functools.cache
def prepare_process_memory() -> bool:
    """What a process running an RSS-driven cache does once at start-up, so that RSS shows what is held.

    glibc hands freed memory back at once (:func:`tune_allocator`), and Arrow allocates through
    it: Arrow's default pool (mimalloc or jemalloc) keeps freed memory for reuse, which RSS would
    count as the cache's long after an eviction. Process-wide, so the viewer's server and
    ``vizcache compare``'s workers call it at start-up, never a policy or a cache (a config check
    or a test collecting policies must not change the process's allocator). Returns whether
    glibc's allocator was tuned; later calls return the first call's result.
    """
    try:
        import pyarrow as pa
    except ImportError:  # the core does not need pyarrow
        pass
    else:
        pa.set_memory_pool(pa.system_memory_pool())
    return tune_allocator()


def trim_heap() -> bool:
    """On glibc, hand freed heap pages back to the OS (``malloc_trim(0)``, ~0.2 ms).

    Large buffers (numpy arrays, Arrow columns) are unmapped as soon as their last reference
    goes; small objects free into glibc's arenas, which keep the pages until trimmed.
    Returns whether ``malloc_trim`` was available.
    """
    if _malloc_trim is None:
        return False
    _malloc_trim(0)
    return True


class ThrottledGC:
    """A full ``gc.collect()`` that spends at most ``max_fraction`` of wall time collecting.

    A full collection walks every tracked object: 50–150 ms in a process that imports panel,
    holoviews and bokeh. Eviction asks for one only when what it freed did not show up in RSS
    (the value sat in a reference cycle), and this throttle, modelled on dask/distributed's
    ``ThrottledGC``, keeps a burst of evictions from collecting over and over.
    """

    def __init__(self, max_fraction: float = 0.05, clock=time.monotonic) -> None:
        self.max_fraction = max_fraction
        self._clock = clock
        self._last_start = clock()
        self._last_duration = 0.0

    def collect(self) -> bool:
        """Collect unless the last collection's share of the time since would exceed the bound."""
        start = self._clock()
        if self._last_duration > self.max_fraction * max(start - self._last_start, 1e-3):
            return False
        gc.collect()
        self._last_start, self._last_duration = start, self._clock() - start
        return True


_freeze_lock = threading.Lock()
_frozen_in: int | None = None  # the pid that froze: a forked child starts unfrozen in this sense too


def freeze_startup_heap() -> bool:
    """Move every object alive now out of the garbage collector's sight (``gc.freeze()``), once
    per process; True if this call did.

    For a server, after its imports and warm-up and before its first page (the viewer's
    ``prepare_server_process``). A full collection walks every tracked object: ~200 ms in a
    process that imports panel, bokeh and pandas, and the viewer collects after every session
    that ends, on the thread that serves every page. The ~480,000 objects of the libraries live
    as long as the process; once frozen a collection walks only what came after: ~8 ms. Frozen
    objects are still freed by reference counting; only cycles among them stay, so nothing that
    is later dropped (a cache, its catalogs) should exist yet.
    """
    global _frozen_in
    with _freeze_lock:
        if _frozen_in == os.getpid():
            return False
        gc.freeze()
        _frozen_in = os.getpid()
        return True


def startup_heap_frozen() -> bool:
    """Whether :func:`freeze_startup_heap` has run in this process."""
    return _frozen_in == os.getpid()


def release_memory() -> bool:
    """A full collection, then :func:`trim_heap`: everything freeable goes back to the OS.

    Costly in a big heap; for measurements at fixed points, not for the eviction path.
    """
    gc.collect()
    return trim_heap()
