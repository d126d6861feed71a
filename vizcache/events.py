"""What the cache did: counters, a bounded event log a UI can poll, and access traces.

Traces are JSON Lines, one access a line: ``{"t", "key", "hit", "load_s", "bytes"}``
(``t`` in seconds since the recorder started). ``vizcache compare`` replays them;
:func:`export_libcachesim_csv` converts them for outside simulators.
"""

from __future__ import annotations

import csv
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import NamedTuple


@dataclass
class Counters:
    """Monotonic counts; the cache updates them under its lock.

    Invariants: ``hits + misses`` is every request; ``misses == loads + coalesced``
    (a coalesced request waited for another caller's load); ``loads == admits +
    rejections + load_failures``.
    """

    hits: int = 0
    misses: int = 0
    coalesced: int = 0
    loads: int = 0
    admits: int = 0
    rejections: int = 0
    load_failures: int = 0
    evictions: int = 0
    expirations: int = 0
    bytes_loaded: int = 0
    bytes_reclaimed: int = 0
    load_seconds: float = 0.0
    probe_calls: int = 0
    probe_seconds: float = 0.0
    sizing_calls: int = 0
    sizing_seconds: float = 0.0
    reclaim_seconds: float = 0.0  # gc.collect + malloc_trim after evictions

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Event(NamedTuple):
    seq: int
    time: float  # wall clock, seconds since the epoch
    kind: str  # load | reject | evict | expire | load_error | warning
    key: str
    rss: int | None
    bytes: int | None
    latency: float | None
    detail: str = ""


@dataclass
class EventLog:
    """A bounded ring of the newest events; ``since(seq)`` lets a poller fetch only what is new."""

    maxlen: int = 1000
    _events: deque = field(init=False)
    _seq: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._events = deque(maxlen=self.maxlen)

    def add(self, kind: str, key, rss=None, nbytes=None, latency=None, detail: str = "") -> Event:
        self._seq += 1
        event = Event(self._seq, time.time(), kind, str(key), rss, nbytes, latency, detail)
        self._events.append(event)
        return event

    def since(self, seq: int = 0) -> list[Event]:
        return [e for e in list(self._events) if e.seq > seq]

    def __len__(self) -> int:
        return len(self._events)


class TraceRecorder:
    """Appends every access to a JSON Lines file, buffered so the hit path only appends a tuple."""

    def __init__(self, path: str | Path, flush_every: int = 1000, flush_seconds: float = 5.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        self._start = time.monotonic()
        self._buffer: list[tuple] = []
        self._lock = threading.Lock()
        self._flush_every = flush_every
        self._flush_seconds = flush_seconds
        self._last_flush = self._start

    def record(self, key, hit: bool, load_s: float = 0.0, nbytes: int = 0) -> None:
        now = time.monotonic()
        with self._lock:
            self._buffer.append((now - self._start, str(key), hit, load_s, nbytes))
            # Batches keep the hit path cheap; the time bound gets a live viewer's trace to disk soon.
            if len(self._buffer) < self._flush_every and now - self._last_flush < self._flush_seconds:
                return
        self.flush()

    def flush(self) -> None:
        with self._lock:
            rows, self._buffer = self._buffer, []
            self._last_flush = time.monotonic()
            if self._file.closed:
                return
            for t, key, hit, load_s, nbytes in rows:
                self._file.write(json.dumps({"t": round(t, 6), "key": key, "hit": hit, "load_s": load_s, "bytes": nbytes}) + "\n")
            self._file.flush()

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._file.close()


class TraceError(ValueError):
    """A trace file that cannot be read; the message names the file and line."""


def read_trace(path: str | Path) -> list[dict]:
    """Read a JSON Lines trace, checking every line has the recorder's fields."""
    path = Path(path)
    required = {"t": (int, float), "key": str, "hit": bool, "load_s": (int, float), "bytes": int}
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TraceError(f"{path}: cannot read trace ({exc.strerror})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TraceError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise TraceError(f"{path}:{n}: expected an object with keys {sorted(required)}")
        for name, kind in required.items():
            if not isinstance(row.get(name), kind):
                raise TraceError(f"{path}:{n}: field {name!r} missing or of the wrong type; each line needs {sorted(required)}")
        rows.append(row)
    return rows


def export_libcachesim_csv(trace_path: str | Path, out_path: str | Path) -> int:
    """Write a trace as libCacheSim's csv (``time,obj_id,obj_size``); returns the row count.

    Keys become integer ids in order of first appearance; a hit carries the size its key
    was last loaded with, since libCacheSim wants a size on every request.
    Replay with: ``cachesim out.csv csv lru 1GiB -t "time-col=1,obj-id-col=2,obj-size-col=3,has-header=true"``.
    """
    rows = read_trace(trace_path)
    ids: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for row in rows:  # first pass: a key's size even when its first request was a hit
        if not row["hit"] and row["bytes"]:
            sizes.setdefault(row["key"], row["bytes"])
    with Path(out_path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["time", "obj_id", "obj_size"])
        for row in rows:
            key = row["key"]
            if not row["hit"] and row["bytes"]:
                sizes[key] = row["bytes"]
            writer.writerow([int(row["t"]), ids.setdefault(key, len(ids) + 1), sizes.get(key, 0)])
    return len(rows)
