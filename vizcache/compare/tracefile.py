"""Reading recorded traces for replay and simulation, tolerant of what a killed viewer leaves.

A last line without its newline that does not parse is what a process killed mid-write leaves:
it is dropped with a warning naming the line. Anything else that does not parse (garbage,
non-UTF-8 bytes, a row without the recorder's fields) is one TraceError naming the file and
line; so is a trace with no requests at all.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from ..events import TraceError

#: field -> allowed types; ``size`` (loader-reported bytes) and ``failed`` are newer and optional.
REQUIRED = {"t": (int, float), "key": str, "hit": bool}
OPTIONAL = {"load_s": (int, float), "bytes": int, "size": (int, type(None)), "failed": bool}


def read_rows(path: str | Path) -> list[dict]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TraceError(f"{path}: cannot read trace ({exc.strerror})") from None
    lines = raw.split(b"\n")
    truncated_tail = not raw.endswith(b"\n")
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        last = n == len(lines) and truncated_tail
        try:
            row = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError:
            raise TraceError(f"{path}:{n}: not UTF-8 text; a trace is JSON Lines") from None
        except json.JSONDecodeError as exc:
            if last:
                warnings.warn(f"{path}:{n}: last line is cut off (the recorder was stopped mid-write); ignored", stacklevel=2)
                break
            raise TraceError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise TraceError(f"{path}:{n}: expected an object with keys {sorted(REQUIRED)}")
        for name, kind in REQUIRED.items():
            if not isinstance(row.get(name), kind) or isinstance(row.get(name), bool) != (kind is bool):
                raise TraceError(f"{path}:{n}: field {name!r} missing or of the wrong type; each line needs {sorted(REQUIRED)}")
        for name, kind in OPTIONAL.items():
            if name in row and (not isinstance(row[name], kind) or (isinstance(row[name], bool) and kind is not bool)):
                raise TraceError(f"{path}:{n}: field {name!r} has the wrong type ({type(row[name]).__name__})")
        if not row["t"] == row["t"] or row["t"] < 0 or row.get("bytes", 0) < 0 or (row.get("size") or 0) < 0:
            raise TraceError(f"{path}:{n}: t, bytes and size must be non-negative numbers")
        row["line"] = n
        rows.append(row)
    if not rows:
        raise TraceError(f"{path}: the trace has no requests")
    return rows


def object_sizes(rows: list[dict]) -> tuple[dict[str, int], dict[str, str]]:
    """Each key's size, and where it came from: the loader-reported ``size`` when known, else the RSS delta.

    A key never loaded in the trace (only hits) or whose every load measured 0 bytes has no size
    and is left out; callers say so rather than simulating a zero-byte object.
    """
    sizes: dict[str, int] = {}
    source: dict[str, str] = {}
    for row in rows:
        if row["hit"] or row.get("failed"):
            continue
        key = row["key"]
        if row.get("size"):
            if source.get(key) != "reported":
                sizes[key], source[key] = row["size"], "reported"
        elif row.get("bytes") and key not in sizes:
            sizes[key], source[key] = row["bytes"], "rss delta"
    return sizes, source
