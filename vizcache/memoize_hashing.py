"""Hashing arguments by content for ``vizcache.cached``: exact, never sampled.

Panel's ``pn.cache`` hashes a DataFrame of 100,000 rows or more, and an array of 100,000
elements or more, from a random sample of 100,000: two frames that differ outside the sample
get one key, and one gets the other's result. Here every byte counts:

* numpy arrays: dtype, shape and the whole buffer;
* pandas frames, series and indexes: column names, dtypes, the index and every column, from
  the column's own buffers (numeric and datetime columns as they are, Arrow-backed strings by
  their Arrow buffers, other object columns by pandas' per-value hash or, when the values are
  not all strings, value by value) — about a third of the time Panel's sample takes on a
  1M-row numeric frame (``tests/test_memoize_hashing.py`` measures both);
* containers recursively (sets and dicts without their order), each value tagged with its
  type, so ``1``, ``1.0`` and ``True`` differ as they do in the keys;
* polars frames and series by their Arrow IPC bytes (Panel samples those too), a polars
  ``LazyFrame`` by its serialized plan;
* anything else by Panel's own rules (dates, paths, ``functools.partial``, modules, ...), and
  an object no rule knows by its identity, as Panel does (salted per process, so a result on
  disk is never found again for another process's object at the same address).

``hash_funcs`` maps a type, a tuple of types, a ``"module.Type"`` name or a predicate to a
function returning bytes, as ``pn.cache`` takes it; it wins over every rule here. The digest
is BLAKE3 (256 bits): collision-resistant like SHA-256 (one session cannot craft a frame that
takes another's entry) and faster on large buffers with SIMD: on a large frame, hashing is the
hit (``benchmarks/bench_cached_hit.py``).
It is imported on the first hash, so ``import vizcache`` does not load it.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

_PROCESS_SALT = os.urandom(16)
_NUMERIC_KINDS = "biufcmM"  # bool, ints, floats, complex, timedelta, datetime: buffers say it all


def content_hash(value: Any, hash_funcs: dict | None = None) -> bytes:
    """The digest of ``value`` by content (see the module docstring for the rules)."""
    h = _new_hash()
    _Feeder(h, hash_funcs or {}).feed(value)
    return h.digest()


def _new_hash():
    global _new_hash
    from blake3 import blake3

    _new_hash = blake3  # imported once, on the first hash
    return blake3()


def _fqn(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


class _Feeder:
    """Writes one value into a hash: a type tag, then the content, lengths before variable parts."""

    def __init__(self, h, hash_funcs: dict) -> None:
        self.h = h
        self.hash_funcs = hash_funcs
        self.open: set[int] = set()  # containers being fed: a value reached again is a cycle

    def bytes_(self, data) -> None:
        self.h.update(struct.pack("<Q", memoryview(data).nbytes))
        self.h.update(data)

    def tag(self, text: str) -> None:
        self.bytes_(text.encode())

    def feed(self, value: Any) -> None:
        kind = type(value)
        custom = _find_user_hash(value, self.hash_funcs) if self.hash_funcs else None
        if custom is not None:
            self.tag("user:" + _fqn(kind))
            self.bytes_(_as_bytes(custom(value)))
            return
        self.tag(_fqn(kind))
        if value is None:
            return
        if kind in (bool, int):
            self.bytes_(str(value).encode())
        elif kind is float:
            self.bytes_(value.hex().encode())  # -0.0 is not 0.0; NaN is itself
        elif kind is complex:
            self.bytes_(f"{value.real.hex()} {value.imag.hex()}".encode())
        elif kind is str:
            self.bytes_(value.encode("utf-8", "surrogatepass"))
        elif kind in (bytes, bytearray):
            self.bytes_(bytes(value))
        elif kind in (list, tuple, set, frozenset, dict):
            self._container(value)
        elif isinstance(value, np.ndarray):
            self._array(value)
        elif isinstance(value, np.generic):
            self.tag(value.dtype.str)
            self.bytes_(value.tobytes())
        elif _is_pandas(value):
            self._pandas(value)
        elif _is_polars(value):
            self._polars(value)
        else:
            self._other(value)

    def _container(self, value) -> None:
        if id(value) in self.open:
            self.tag("cycle")
            return
        self.open.add(id(value))
        try:
            self.bytes_(str(len(value)).encode())
            if isinstance(value, (list, tuple)):
                for item in value:
                    self.feed(item)
                return
            items = value.items() if isinstance(value, dict) else value
            for digest in sorted(self._digest(item) for item in items):  # without their order
                self.h.update(digest)
        finally:
            self.open.discard(id(value))

    def _digest(self, value) -> bytes:
        inner = _Feeder(_new_hash(), self.hash_funcs)
        inner.open = self.open
        inner.feed(value)
        return inner.h.digest()

    def _array(self, array: np.ndarray) -> None:
        self.tag(array.dtype.str)
        self.bytes_(repr(array.shape).encode())
        if array.dtype.hasobject:
            for item in array.ravel().tolist():
                self.feed(item)
        else:
            self.bytes_(memoryview(np.ascontiguousarray(array)).cast("B"))

    def _pandas(self, value) -> None:
        import pandas as pd

        if isinstance(value, pd.DataFrame):
            self.feed(list(value.columns))
            self.feed(value.index)
            for i in range(value.shape[1]):
                self._values(value.iloc[:, i].array)
        elif isinstance(value, pd.Series):
            self.feed(value.name)
            self.feed(value.index)
            self._values(value.array)
        elif isinstance(value, pd.RangeIndex):
            self.feed((value.start, value.stop, value.step, value.name))
        elif isinstance(value, pd.MultiIndex):
            self.feed(list(value.names))
            for level in range(value.nlevels):
                self._values(value.get_level_values(level).array)
        else:  # Index
            self.feed(value.name)
            self._values(value.array)

    def _values(self, array) -> None:
        """One column's values, exactly, from its own buffers where it has them."""
        import pandas as pd

        self.tag(str(array.dtype))
        self.bytes_(str(len(array)).encode())
        arrow = getattr(array, "_pa_array", None)
        if arrow is not None:  # Arrow-backed: offsets, validity and data buffers
            for chunk in arrow.chunks:
                self.bytes_(f"{chunk.offset} {len(chunk)} {chunk.null_count}".encode())
                for buffer in chunk.buffers():
                    self.bytes_(b"" if buffer is None else memoryview(buffer))
            return
        if isinstance(array, pd.Categorical):
            self.feed(array.categories)
            self._array(array.codes)
            return
        if hasattr(array, "_data") and hasattr(array, "_mask"):  # nullable ints, floats, booleans
            self._array(array._mask)
            self._array(np.where(array._mask, 0, array._data))  # what a masked slot holds is noise
            return
        if hasattr(array, "asi8"):  # datetimes with a time zone, periods: the dtype says the rest
            self._array(array.asi8)
            return
        values = np.asarray(array)
        if values.dtype.kind in _NUMERIC_KINDS:
            self._array(values)
        elif pd.api.types.infer_dtype(values, skipna=False) in ("string", "bytes", "empty"):
            self._array(pd.util.hash_array(values, categorize=False))  # pandas' per-value hash of text
        else:
            self._array(values.astype(object))  # mixed values: one by one, each with its type

    def _polars(self, value) -> None:
        import polars as pl

        if isinstance(value, pl.LazyFrame):  # a query, not data: its plan (with the data it scans)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # polars warns that the format may change between versions
                    self.bytes_(value.serialize())
            except Exception:  # a plan polars cannot write (a Python function in it): the object itself
                self._identity(value)
            return
        frame = value.to_frame() if isinstance(value, pl.Series) else value
        out = io.BytesIO()
        frame.rechunk().write_ipc(out)  # names, dtypes and every value
        self.bytes_(out.getbuffer())

    def _identity(self, value) -> None:
        # Salted per process: on disk, an object of another process at the same address is not this one.
        self.bytes_(_PROCESS_SALT + str(id(value)).encode())

    def _other(self, value) -> None:
        try:
            from panel.io.cache import _find_hash_func, _generate_hash
        except ImportError:  # no Panel: an object no rule knows is itself
            self._identity(value)
            return
        rule = _find_hash_func(value)
        if rule is not None or isinstance(value, type):
            data = rule(value) if callable(rule) else rule if rule is not None else _generate_hash(value)
            self.bytes_(_as_bytes(data))
        else:
            self._identity(value)  # Panel's rule too: the object itself


def _is_pandas(value) -> bool:
    pd = sys.modules.get("pandas")  # a value cannot be a pandas object unless pandas is loaded
    return pd is not None and isinstance(value, (pd.DataFrame, pd.Series, pd.Index))


def _is_polars(value) -> bool:
    pl = sys.modules.get("polars")
    return pl is not None and isinstance(value, (pl.DataFrame, pl.Series, pl.LazyFrame))


def _find_user_hash(value, hash_funcs: dict) -> Callable | None:
    """The user's function for ``value``, matched as Panel matches its ``hash_funcs`` keys."""
    name = _fqn(type(value))
    if name in hash_funcs:
        return hash_funcs[name]
    for match, func in hash_funcs.items():
        if isinstance(match, str):
            continue
        if isinstance(match, (type, tuple)):
            if isinstance(value, match):
                return func
        elif callable(match) and match(value):
            return func
    return None


def _as_bytes(data) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    return repr(data).encode()
