"""``to_disk=True``: a function's results kept on disk too, bounded in bytes and in entries.

The disk tier sits under the in-memory cache. A call that misses in memory looks on disk before
running the function (inside the cache's single flight, so concurrent callers read once); a
result the function returns is written to both. What leaves memory for *memory's* sake (the RSS
limit, the byte budget) stays on disk and comes back from there; what leaves because the count
bound, ``ttl``, ``clear()`` or an invalidation says it must go leaves the disk too, so
``max_items``, ``ttl`` and ``clear()`` mean on disk what they mean in ``pn.cache``.

It is a `diskcache <https://grantjenks.com/docs/diskcache/>`_ ``Cache`` (SQLite index, one file
per large value; thread- and process-safe, what ``pn.cache`` uses), whose ``size_limit`` bounds
the bytes (least recently stored culled first), while this module bounds the entries (oldest
stored first). Entries expire after ``ttl`` on disk as in memory, counted from when they were
written (a result read back by a later process is served for what is left of its ttl). Unlike ``pn.cache``'s disk
store, which never evicts, it cannot fill the disk.

A disk that is full, read-only or damaged never fails a call: the result is returned (and kept
in memory) and one warning is logged per tier.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Any

from .memoize_hashing import content_hash

log = logging.getLogger("vizcache.memoize")

MISSING = object()


def disk_directory(cache_path: str | Path, function_name: str) -> Path:
    """Each function's own folder under ``cache_path`` (by a digest of its file and name)."""
    return Path(cache_path) / ("vizcache-" + hashlib.sha256(function_name.encode()).hexdigest()[:32])


class DiskTier:
    """One function's results on disk: at most ``max_items`` entries and ``size_limit`` bytes."""

    def __init__(self, directory: Path, *, size_limit: int, max_items: int, ttl: float | None) -> None:
        try:
            import diskcache
        except ImportError:
            raise ImportError("cached(to_disk=True) needs the diskcache package: pip install diskcache") from None
        self._diskcache = diskcache
        self.directory = Path(directory)
        self._size_limit = size_limit
        self._max_items = max_items
        self._ttl = ttl
        self._store = None  # opened on first use: decorating writes nothing
        self._warned = False

    def _open(self):
        if self._store is None:
            self._store = self._diskcache.Cache(
                str(self.directory), size_limit=self._size_limit, eviction_policy="least-recently-stored")
        return self._store

    @staticmethod
    def _name(key: Any) -> str:
        # Stable across processes (str hashing is salted per process; this digest is not).
        return content_hash(key).hex()

    def get(self, key: Any) -> tuple[Any, float]:
        """The stored result (``MISSING`` when absent or unreadable) and its age in seconds under
        ``ttl`` (0 without one): a result written by an earlier process has used part of its ttl."""
        try:
            value, expires = self._open().get(self._name(key), default=MISSING, expire_time=True, retry=True)
        except Exception as exc:  # unreadable store or value: run the function instead
            self._warn("read", exc)
            return MISSING, 0.0
        if value is MISSING or self._ttl is None or expires is None:
            return value, 0.0
        # diskcache stores the wall-clock expiry: it holds across processes and restarts.
        return value, min(self._ttl, max(0.0, self._ttl - (expires - time.time())))

    def set(self, key: Any, value: Any) -> None:
        try:
            store = self._open()
            store.set(self._name(key), value, expire=self._ttl, retry=True)
            while len(store) > self._max_items:
                oldest = next(iter(store), None)
                if oldest is None:
                    break
                store.delete(oldest, retry=True)
        except Exception as exc:  # full disk, a value pickle cannot write: kept in memory only
            self._warn("write", exc)

    def _exists(self) -> bool:
        return self._store is not None or self.directory.is_dir()

    def delete(self, keys: list) -> None:
        if not self._exists():
            return  # nothing written yet: forgetting must not create the store
        try:
            store = self._open()
            for key in keys:
                store.delete(self._name(key), retry=True)
        except Exception as exc:
            self._warn("delete from", exc)

    def clear(self) -> None:
        try:
            if self._exists():
                self._open().clear(retry=True)
        except Exception as exc:
            self._warn("clear", exc)

    def _warn(self, action: str, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            log.warning("vizcache.cached: could not %s the disk cache in %s (%s: %s); results stay in memory",
                        action, self.directory, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
