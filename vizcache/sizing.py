"""Size estimators: how the size-estimating policy thinks a value is big.

``getsizeof`` is what the old viewer did: shallow, so a dict of arrays looks like ~200 bytes,
while a pandas frame with object columns is sized deeply (pandas' ``__sizeof__``) and slowly.
``deep`` follows containers and counts every object once; ``nbytes`` counts array buffers only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np


def _loaded(name: str):
    """The module if something already imported it, else None: a value cannot be a pandas or
    pyarrow object unless that library is loaded, so sizing never imports them itself."""
    return sys.modules.get(name)


def getsizeof_size(value: Any) -> int:
    """``sys.getsizeof``: the old code's estimator, kept as it was."""
    return sys.getsizeof(value)


def deep_size(value: Any) -> int:
    """Recursive size: arrays by ``nbytes``, frames by ``memory_usage(deep=True)``, each object once."""
    pd, pa = _loaded("pandas"), _loaded("pyarrow")
    seen: set[int] = set()
    total = 0
    stack = [value]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            # numpy's __sizeof__ counts the buffer only when the array owns it; a view's
            # buffer is counted once, through its base.
            total += sys.getsizeof(obj)
            if obj.base is not None:
                stack.append(obj.base)
            if obj.dtype == object:
                stack.extend(obj.ravel().tolist())
        elif pd is not None and isinstance(obj, pd.DataFrame):
            total += int(obj.memory_usage(deep=True, index=True).sum())
        elif pd is not None and isinstance(obj, (pd.Series, pd.Index)):
            total += int(obj.memory_usage(deep=True))
        elif pa is not None and isinstance(obj, (pa.Table, pa.Array, pa.ChunkedArray, pa.RecordBatch)):
            total += obj.nbytes
        elif isinstance(obj, (str, bytes, bytearray, int, float, complex, bool, type(None))):
            total += sys.getsizeof(obj)
        elif isinstance(obj, Mapping):
            total += sys.getsizeof(obj)
            for k, v in obj.items():
                stack.append(k)
                stack.append(v)
        elif isinstance(obj, (list, tuple, set, frozenset)):
            total += sys.getsizeof(obj)
            stack.extend(obj)
        else:
            total += sys.getsizeof(obj)
            attrs = getattr(obj, "__dict__", None)
            if attrs is not None:
                stack.append(attrs)
    return total


def nbytes_size(value: Any) -> int:
    """Buffers of arrays and frames only (found inside dicts, lists and tuples); 0 for anything else."""
    pd, pa = _loaded("pandas"), _loaded("pyarrow")
    if isinstance(value, np.ndarray):
        return value.nbytes
    if pd is not None and isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=False, index=True).sum())
    if pd is not None and isinstance(value, pd.Series):
        return int(value.memory_usage(deep=False))
    if pa is not None and isinstance(value, (pa.Table, pa.Array, pa.ChunkedArray, pa.RecordBatch)):
        return value.nbytes
    if isinstance(value, Mapping):
        return sum(nbytes_size(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes_size(v) for v in value)
    return 0


ESTIMATORS: dict[str, Callable[[Any], int]] = {
    "getsizeof": getsizeof_size,
    "deep": deep_size,
    "nbytes": nbytes_size,
}
