"""Access traces: what the cache was asked for, one request a line, for replay and outside simulators.

Traces are JSON Lines, one access a line: ``{"t", "key", "hit", "load_s", "bytes", "size"}``
(``t`` in seconds since the recorder started; ``key`` the key's text, ``str(key)``; ``bytes``
the RSS delta around a load, an attribution guess; ``size`` the size the loader reported, or
null when unknown; a load that raised carries ``"failed": true``). ``vizcache compare`` and
``vizcache simulate`` replay them; :func:`export_libcachesim_csv` converts them for outside
simulators.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path


class TraceRecorder:
    """Appends every access to a JSON Lines file, buffered so the hit path only appends a tuple.

    Rows are written outside the recording lock, so a slow disk delays only the thread that
    flushes, never another key's hit. A failed write (a full disk) never reaches the caller:
    the rows stay buffered for the next flush, up to ``max_pending``; beyond that the oldest
    are dropped and counted in ``lost``, and one warning is logged.
    """

    def __init__(self, path: str | Path, flush_every: int = 1000, flush_seconds: float = 5.0,
                 max_pending: int = 100_000) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise IsADirectoryError(f"{self.path}: is a folder; a trace needs a file path (e.g. traces/viewer.jsonl)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        self._start = time.monotonic()
        self._buffer: list[tuple] = []
        self._lock = threading.Lock()  # guards the buffer only: held for an append or a swap
        self._write_lock = threading.Lock()  # one writer at a time, rows in order
        self._flush_every = flush_every
        self._flush_seconds = flush_seconds
        self._max_pending = max_pending
        self._last_flush = self._start
        self.lost = 0
        self._warned = False

    def record(self, key, hit: bool, load_s: float = 0.0, nbytes: int = 0, size: int | None = None,
               failed: bool = False) -> None:
        """Buffer one access: ``nbytes`` is the RSS delta of a load, ``size`` a size the loader reported."""
        now = time.monotonic()
        with self._lock:
            self._buffer.append((now - self._start, str(key), hit, load_s, nbytes, size, failed))
            # Batches keep the hit path cheap; the time bound gets a live viewer's trace to disk soon.
            if len(self._buffer) < self._flush_every and now - self._last_flush < self._flush_seconds:
                return
            self._last_flush = now
        if self._write_lock.acquire(blocking=False):  # another thread already writing: it takes these too
            try:
                self._write_buffered()
            finally:
                self._write_lock.release()

    def flush(self) -> None:
        """Write every buffered row now (rows a failing disk refuses stay buffered, see ``lost``)."""
        with self._write_lock:
            self._write_buffered()

    def _write_buffered(self) -> None:
        with self._lock:
            rows, self._buffer = self._buffer, []
            self._last_flush = time.monotonic()
        if not rows or self._file.closed:
            return
        text = "".join(json.dumps(_trace_row(*row)) + "\n" for row in rows)
        try:
            self._file.write(text)
            self._file.flush()
        except (OSError, ValueError) as exc:
            self._keep_unwritten(rows, exc)

    def _keep_unwritten(self, rows: list[tuple], exc: Exception) -> None:
        with self._lock:
            pending = rows + self._buffer
            overflow = max(0, len(pending) - self._max_pending)
            self.lost += overflow
            self._buffer = pending[overflow:]
        try:  # the failed write may have left a partial line; start the next one on a fresh line
            self._file.seek(0, 2)
        except (OSError, ValueError):
            pass
        if not self._warned:
            self._warned = True
            logging.getLogger(__name__).warning(
                "vizcache: cannot write the access trace %s (%s); keeping up to %d rows in memory and "
                "retrying at the next flush", self.path, exc, self._max_pending)

    def close(self) -> None:
        self.flush()
        with self._write_lock:
            try:
                self._file.close()
            except OSError:
                pass


def _trace_row(t: float, key: str, hit: bool, load_s: float, nbytes: int, size: int | None, failed: bool) -> dict:
    row = {"t": round(t, 6), "key": key, "hit": hit, "load_s": load_s, "bytes": nbytes, "size": size}
    if failed:
        row["failed"] = True
    return row


class TraceError(ValueError):
    """A trace file that cannot be read or exported; the message names the file (and line) and why."""


#: bytes in one trace line at most: a row is about 100 bytes plus its key; a longer line is no trace's
MAX_TRACE_LINE = 2**20
#: sizes as libCacheSim reads them (int64)
_MAX_SIZE = 2**63 - 1
_REQUIRED = {"t": (int, float), "key": str, "hit": bool, "load_s": (int, float), "bytes": int}
_OPTIONAL = {"size": (int, type(None)), "failed": bool}


class _NotFinite(ValueError):
    pass


def _refuse_constant(name: str) -> None:
    raise _NotFinite(f"{name} is not allowed: times and sizes in a trace are finite numbers")


def _parsed_row(path: Path, n: int, raw: bytes, last: bool, warn: bool) -> dict | None:
    """Line ``n`` of a trace as a checked row; None for a cut-off last line (logged)."""
    try:
        row = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise TraceError(f"{path}:{n}: not UTF-8 text; a trace is JSON Lines written by vizcache") from None
    except json.JSONDecodeError as exc:
        if last:
            if warn:
                logging.getLogger(__name__).warning(
                    "%s:%d: last line is truncated (the recording process was probably killed); skipped", path, n)
            return None
        raise TraceError(f"{path}:{n}: not JSON ({exc.msg})") from None
    except _NotFinite as exc:
        raise TraceError(f"{path}:{n}: {exc}") from None
    except ValueError:  # Python reads no integer of over 4,300 digits
        raise TraceError(f"{path}:{n}: a number thousands of digits long; times and sizes are at most 19 digits") from None
    except RecursionError:
        raise TraceError(f"{path}:{n}: values nested too deeply; each line is one flat object") from None
    if not isinstance(row, dict):
        raise TraceError(f"{path}:{n}: expected an object with keys {sorted(_REQUIRED)}")
    for name, kind in _REQUIRED.items():
        value = row.get(name)
        if not isinstance(value, kind) or (name != "hit" and isinstance(value, bool)):
            raise TraceError(f"{path}:{n}: field {name!r} missing or of the wrong type; each line needs {sorted(_REQUIRED)}")
    for name, kind in _OPTIONAL.items():
        if name in row and (not isinstance(row[name], kind) or (name == "size" and isinstance(row[name], bool))):
            raise TraceError(f"{path}:{n}: field {name!r} has the wrong type ({type(row[name]).__name__})")
    for name in ("t", "load_s"):
        if not math.isfinite(row[name]) or row[name] < 0:  # 1e999 parses as infinity
            raise TraceError(f"{path}:{n}: field {name!r} = {row[name]!r} is not allowed: use a finite number of seconds, at least 0")
    if not 0 <= row["bytes"] <= _MAX_SIZE or not 0 <= (row.get("size") or 0) <= _MAX_SIZE:
        raise TraceError(f"{path}:{n}: sizes must not be negative or above {_MAX_SIZE}")
    return row


def iter_trace(path: str | Path, warn: bool = True) -> Iterator[dict]:
    """The rows of a JSON Lines trace, one line at a time (memory stays one line, at most ``MAX_TRACE_LINE``).

    Every line must have the recorder's fields with finite, non-negative times and sizes. A
    truncated last line (what a killed process leaves behind) is skipped with a warning naming
    it (unless ``warn`` is False: a second pass over the same file); any other bad line is a
    :class:`TraceError` naming the file and line.
    """
    path = Path(path)
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
        if regular:
            handle = open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb")  # swapped for a FIFO: no wait
    except OSError as exc:
        raise TraceError(f"{path}: cannot read trace ({exc.strerror})") from None
    except ValueError:  # os.stat's "embedded null byte"
        raise TraceError(f"{path}: cannot read trace (a path cannot hold a NUL character)") from None
    if not regular:
        raise TraceError(f"{path}: not a regular file; a trace is a JSON Lines file written by vizcache")
    with handle:
        n = 0
        while raw := handle.readline(MAX_TRACE_LINE + 1):
            n += 1
            if len(raw) > MAX_TRACE_LINE:
                raise TraceError(f"{path}:{n}: line longer than {MAX_TRACE_LINE // 2**20} MiB; a trace line is one request "
                                 "of a few hundred bytes")
            if raw.strip():
                row = _parsed_row(path, n, raw, last=not raw.endswith(b"\n"), warn=warn)
                if row is not None:
                    yield row


def read_trace(path: str | Path) -> list[dict]:
    """Every row of a trace (see :func:`iter_trace`); a trace with no request is a TraceError."""
    rows = list(iter_trace(path))
    if not rows:
        raise TraceError(f"{path}: the trace holds no requests")
    return rows


def request_size(row: dict) -> int | None:
    """A trace row's object size: the loader-reported one, else a non-zero RSS delta, else None."""
    size = row.get("size")
    if size is not None:
        return size
    return row["bytes"] or None if not row["hit"] and not row.get("failed") else None


def export_libcachesim_csv(trace_path: str | Path, out_path: str | Path, unknown_size: int | None = None) -> int:
    """Write a trace as libCacheSim's csv (``time,obj_id,obj_size``); returns the row count.

    Keys become integer ids in order of first appearance; every request carries its key's
    size (libCacheSim drops zero-size rows silently), from the loader's report or, failing
    that, a non-zero RSS delta. A key with neither is an error unless ``unknown_size`` says
    what to write for it. A failed load is left out (it put nothing in the cache; a simulator
    would cache it), and the count of them logged. The trace is read twice, a line at a time;
    the csv appears complete or not at all. Replay with: ``cachesim out.csv csv lru 1GiB -t
    "time-col=1,obj-id-col=2,obj-size-col=3,has-header=true"``.
    """
    sizes: dict[str, int] = {}
    keys: set[str] = set()
    failed = 0
    for row in iter_trace(trace_path):  # first pass: checks every line, and a key's size even when its first request was a hit
        if row.get("failed"):
            failed += 1
            continue
        keys.add(row["key"])
        size = request_size(row)
        if size:
            sizes.setdefault(row["key"], size)
    if not keys:
        raise TraceError(f"{trace_path}: the trace holds no requests" + (f" but {failed} failed loads" if failed else ""))
    unknown = sorted(keys - set(sizes))
    if unknown and unknown_size is None:
        raise TraceError(
            f"{trace_path}: {len(unknown)} of {len(keys)} keys have no known size "
            f"(first: {unknown[0]!r}): no loader reported one and the RSS delta was 0. Give a size for them "
            "(--unknown-size BYTES), or have the loader return vizcache.Sized(value, nbytes)")
    if failed:
        logging.getLogger(__name__).warning("%s: %d failed loads left out (they cached nothing)", trace_path, failed)
    out = Path(out_path)
    tmp = out.with_name(f".{out.name}.tmp")
    ids: dict[str, int] = {}
    written = 0
    try:
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["time", "obj_id", "obj_size"])
            for row in iter_trace(trace_path, warn=False):
                if row.get("failed"):
                    continue
                key = row["key"]
                size = request_size(row)
                if size:
                    sizes[key] = size
                writer.writerow([int(row["t"]), ids.setdefault(key, len(ids) + 1), sizes.get(key, unknown_size)])
                written += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:  # a full disk, a folder named as the csv
        raise TraceError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)  # gone already when the csv is complete
    return written
