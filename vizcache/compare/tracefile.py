"""Traces for simulation: vizcache's JSON Lines traces and libCacheSim's binary oracleGeneral ones.

oracleGeneral (libCacheSim's ``oracleGeneralBin``, the format of the cacheMon trace sets) is a
packed little-endian record per request: ``uint32 clock_time, uint64 obj_id, uint32 obj_size,
int64 next_access_vtime`` (24 bytes; the next request number of the same object, counted from 1,
or -1). Both are read whole into arrays: a request is (time, dense object id 0..n-1, size).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..trace import TraceError, iter_trace, request_size

FORMATS = ("jsonl", "oracleGeneral")
ORACLE_GENERAL = np.dtype([("clock_time", "<u4"), ("obj_id", "<u8"), ("obj_size", "<u4"), ("next_access_vtime", "<i8")])


class Requests(NamedTuple):
    """A trace as arrays: per request its time, dense object id and size; per id the original key."""

    times: np.ndarray  # float64 seconds
    ids: np.ndarray  # int64, 0..len(keys)-1
    sizes: np.ndarray  # int64 bytes of each request's object
    keys: np.ndarray  # the key (str) or obj_id (uint64) of each dense id
    left_out: int = 0  # requests of keys whose size the trace never gives
    sizes_from: dict | None = None  # {"reported": n, "rss_delta": n} for JSON Lines traces


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


def read_oracle_general(path: str | Path) -> Requests:
    """A libCacheSim oracleGeneral trace; a file that is not whole records is one clear TraceError."""
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise TraceError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw.size % ORACLE_GENERAL.itemsize:
        raise TraceError(f"{path}: {raw.size} bytes is not a whole number of {ORACLE_GENERAL.itemsize}-byte oracleGeneral records "
                         "(truncated, or not an oracleGeneral trace); --format allows: " + ", ".join(FORMATS))
    records = raw.view(ORACLE_GENERAL)
    if not records.size:
        raise TraceError(f"{path}: the trace holds no requests")
    nxt = records["next_access_vtime"]
    if ((nxt != -1) & ((nxt <= np.arange(1, nxt.size + 1)) | (nxt > nxt.size))).any():
        raise TraceError(f"{path}: next_access_vtime points outside the trace: not an oracleGeneral trace; --format allows: "
                         + ", ".join(FORMATS))
    keys, ids = np.unique(records["obj_id"], return_inverse=True)
    return Requests(records["clock_time"].astype(np.float64), ids.astype(np.int64), records["obj_size"].astype(np.int64), keys)


def next_access_vtime(ids: np.ndarray) -> np.ndarray:
    """For each request, the number (from 1) of the next request of the same object, or -1."""
    ids = np.asarray(ids)
    order = np.argsort(ids, kind="stable")
    out = np.full(ids.size, -1, dtype=np.int64)
    same = ids[order[1:]] == ids[order[:-1]]
    out[order[:-1][same]] = order[1:][same] + 1
    return out


def write_oracle_general(path: str | Path, times, obj_ids, sizes) -> int:
    """Write requests as oracleGeneral (appears whole or not at all); returns the request count."""
    obj_ids = np.asarray(obj_ids, dtype=np.uint64)
    records = np.empty(obj_ids.size, dtype=ORACLE_GENERAL)
    records["clock_time"] = np.clip(np.asarray(times, dtype=np.float64), 0, 2**32 - 1).astype(np.uint32)
    records["obj_id"] = obj_ids
    records["obj_size"] = np.clip(np.asarray(sizes, dtype=np.int64), 0, 2**32 - 1)
    records["next_access_vtime"] = next_access_vtime(obj_ids)
    out = Path(path)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        records.tofile(tmp)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return int(records.size)


def _jsonl_table(path: Path):
    """The trace's columns read by pyarrow in one go, or None when anything needs the line-by-line reader's word."""
    import pyarrow as pa
    import pyarrow.json as pj

    try:
        table = pj.read_json(path)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError):
        return None
    types = {"t": pa.types.is_floating, "key": pa.types.is_string, "hit": pa.types.is_boolean, "bytes": pa.types.is_integer}
    names = table.schema.names
    if any(n not in names or not ok(table.schema.field(n).type) for n, ok in types.items()):
        return None
    if "size" in names and not (pa.types.is_integer(table.schema.field("size").type) or pa.types.is_null(table.schema.field("size").type)):
        return None
    if "failed" in names and not pa.types.is_boolean(table.schema.field("failed").type):
        return None
    if any(table.column(n).null_count for n in types):
        return None
    t, nbytes = table.column("t").to_numpy(), table.column("bytes").to_numpy()
    if not (np.isfinite(t).all() and (t >= 0).all() and (nbytes >= 0).all()):
        return None
    return table


def _frame(path: Path):
    """The trace's t, key, hit, bytes, size and failed columns as a DataFrame.

    pyarrow parses a well-formed trace at once; any trace it cannot (a cut-off last line, a bad
    value) is read by :func:`vizcache.trace.iter_trace`, which names the line.
    """
    import pandas as pd

    table = _jsonl_table(path) if path.is_file() else None
    if table is None:
        rows = [(r["t"], r["key"], r["hit"], r["bytes"], r.get("size"), bool(r.get("failed"))) for r in iter_trace(path)]
        frame = pd.DataFrame(rows, columns=["t", "key", "hit", "bytes", "size", "failed"])
    else:
        frame = pd.DataFrame({n: table.column(n).to_pandas() for n in ("t", "key", "hit", "bytes")})
        frame["size"] = table.column("size").to_pandas() if "size" in table.schema.names else None
        frame["failed"] = table.column("failed").to_pandas().fillna(False).astype(bool) if "failed" in table.schema.names else False
    if frame.empty:
        raise TraceError(f"{path}: the trace holds no requests")
    return frame


def _key_sizes(frame) -> tuple[dict, int]:
    """Each key's size as :func:`object_sizes` gives it, and how many keys have a reported one."""
    import pandas as pd

    reported = frame["size"].notna().to_numpy()
    loaded = ~frame["hit"].to_numpy(bool) & ~frame["failed"].to_numpy(bool)
    size = np.where(reported, frame["size"].fillna(0).to_numpy(np.float64), np.where(loaded, frame["bytes"].to_numpy(np.float64), 0))
    known = pd.DataFrame({"key": frame["key"].to_numpy(object), "size": size.astype(np.int64), "rss": ~reported})[size > 0]
    first = known.sort_values("rss", kind="stable").drop_duplicates("key")  # a reported size wins, else the first delta
    return dict(zip(first["key"], first["size"].tolist(), strict=True)), int((~first["rss"]).sum())


def read_jsonl(path: str | Path) -> Requests:
    """A vizcache JSON Lines trace, its requests for keys of known size (see :func:`object_sizes`)."""
    import pandas as pd

    path = Path(path)
    frame = _frame(path)
    size_of, reported = _key_sizes(frame)
    if not size_of:
        raise TraceError(f"{path}: no load in the trace has a known size (neither a reported size nor an RSS delta above 0)")
    codes, uniques = pd.factorize(frame["key"])
    sizes = np.array([size_of.get(k, 0) for k in uniques], dtype=np.int64)[codes]
    keep = sizes > 0
    dense, keys = pd.factorize(frame["key"][keep])
    return Requests(frame["t"].to_numpy(np.float64)[keep], dense.astype(np.int64), sizes[keep], np.asarray(keys, dtype=object),
                    int((~keep).sum()), {"reported": reported, "rss_delta": len(size_of) - reported})


def export_oracle_general(trace_path: str | Path, out_path: str | Path, unknown_size: int | None = None) -> int:
    """Write a JSON Lines trace as libCacheSim's oracleGeneral; the same rules as the csv export
    (:func:`vizcache.trace.export_libcachesim_csv`): keys become ids from 1 in order of first
    appearance, failed loads are left out, a key of unknown size is an error unless ``unknown_size``
    says what to write. Times are whole seconds since the trace's start."""
    import pandas as pd

    path = Path(trace_path)
    frame = _frame(path)
    failed = int(frame["failed"].sum())
    frame = frame[~frame["failed"].to_numpy(bool)]
    if frame.empty:
        raise TraceError(f"{path}: the trace holds no requests" + (f" but {failed} failed loads" if failed else ""))
    size_of, _ = _key_sizes(frame)
    codes, uniques = pd.factorize(frame["key"])
    unknown = [k for k in uniques if k not in size_of]
    if unknown and unknown_size is None:
        raise TraceError(
            f"{path}: {len(unknown)} of {len(uniques)} keys have no known size (first: {unknown[0]!r}): no loader reported one "
            "and the RSS delta was 0. Give a size for them (--unknown-size BYTES), or have the loader return vizcache.Sized(value, nbytes)")
    if failed:
        logging.getLogger(__name__).warning("%s: %d failed loads left out (they cached nothing)", path, failed)
    sizes = np.array([size_of.get(k, unknown_size) for k in uniques], dtype=np.int64)[codes]
    times = frame["t"].to_numpy(np.float64)
    return write_oracle_general(out_path, times - times.min(), codes + 1, sizes)


def read_requests(path: str | Path, fmt: str = "jsonl") -> Requests:
    """A trace in ``fmt`` (one of ``FORMATS``)."""
    if fmt == "oracleGeneral":
        return read_oracle_general(path)
    if fmt == "jsonl":
        try:
            return read_jsonl(path)
        except TraceError as exc:
            if "not UTF-8" not in str(exc) and "not JSON" not in str(exc):
                raise
            raise TraceError(f"{exc}; for a libCacheSim binary trace give --format oracleGeneral (--format allows: {', '.join(FORMATS)})") from None
    raise TraceError(f"{path}: unknown trace format {fmt!r}; --format allows: {', '.join(FORMATS)}")
