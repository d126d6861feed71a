"""Object sizes from a recorded trace (read with :func:`vizcache.events.read_trace`), for simulation."""

from __future__ import annotations

from collections.abc import Iterable

from ..events import request_size


def object_sizes(rows: Iterable[dict]) -> tuple[dict[str, int], dict[str, str]]:
    """Each key's size, and where it came from: the loader-reported ``size`` when known, else the RSS delta.

    A key never loaded in the trace (only hits) or whose every load measured 0 bytes has no size
    and is left out; callers say so rather than simulating a zero-byte object.
    """
    sizes: dict[str, int] = {}
    source: dict[str, str] = {}
    for row in rows:
        size = request_size(row)
        if not size:
            continue
        key = row["key"]
        reported = row.get("size") is not None
        if key not in sizes or (reported and source[key] != "reported"):
            sizes[key], source[key] = size, "reported" if reported else "rss delta"
    return sizes, source
