"""Identifiers and other whole numbers kept exact: 64-bit integers never pass through float64.

Euclid's ``ID_UNIQUE_CLUSTER`` is a 64-bit integer, and float64 holds whole numbers exactly only
up to 2**53: through a float, ``9007199254740993`` silently becomes ``...992``. A column of
whole numbers becomes int64 (uint64 when the file's is: up to 2**64 - 1, never wrapped to
negative), or a pandas nullable integer array when values are missing, whatever the file held
them as: integers, whole floats (NaN = missing) or text (a CSV's digits, read as text so that
they are never parsed as floats). JavaScript numbers are float64 too: what goes to a browser
goes as :func:`as_text`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: each Arrow integer type as a pandas nullable dtype: a missing value never turns the column into float64
NULLABLE_INTEGERS = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
                     pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
                     pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype()}
_RANGES = {pa.int64(): (-(2**63), 2**63 - 1), pa.uint64(): (0, 2**64 - 1)}
#: a whole number written as text: optional sign, digits, optionally ".0" (a float column's whole values)
_WHOLE_TEXT = re.compile(r"[+-]?\d{1,20}(?:\.0*)?")


class NotWholeNumbers(ValueError):
    """Values that no 64-bit integer type holds; the message shows the first such value."""


def is_whole_number_dtype(dtype) -> bool:
    """Integers, numpy's or pandas' nullable ones (not bool)."""
    return pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 42 else text[:40] + "..."


def _number(value) -> int | None:
    """A value of a failed cast as a Python int, or None if it is no whole number (text: of at most 20 digits)."""
    if isinstance(value, str):
        return int(value.split(".")[0]) if _WHOLE_TEXT.fullmatch(value) else None
    return int(value) if math.isfinite(value) and float(value).is_integer() else None


def _cast(array: pa.Array, types: tuple[pa.DataType, ...]) -> pa.Array:
    """``array`` as the first of ``types`` that holds every value; a fraction or an overflow is an error, never rounded."""
    for target in types:
        try:
            return array.cast(target)  # safe cast: refuses truncation and overflow
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    numbers = []
    for value in array.to_pylist():  # only after a failed cast: find what to show
        if value is None:
            continue
        number = _number(value)
        if number is None or not -(2**63) <= number < 2**64:
            raise NotWholeNumbers(f"holds {_shown(value)}, not a whole number that fits 64 bits")
        numbers.append(number)
    raise NotWholeNumbers(f"holds {min(numbers)} and {max(numbers)}: no 64-bit integer type holds both")


def _arrow(values, **options) -> pa.Array:
    array = pa.array(values, **options)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array  # pandas' Arrow-backed columns


def _as_arrow_integers(values: pd.Series) -> pa.Array:
    kind = values.dtype.kind
    if pd.api.types.is_bool_dtype(values.dtype):
        raise NotWholeNumbers(f"is not numeric (dtype {values.dtype})")
    if kind in "iu":
        array = _arrow(values)
        return _cast(array, (pa.uint64(),) if array.type == pa.uint64() else (pa.int64(),))
    if kind == "f":
        # NaN is missing; a fraction or an infinity fails the cast
        return _cast(pa.array(values.to_numpy(dtype=np.float64, na_value=np.nan), from_pandas=True), (pa.int64(), pa.uint64()))
    if kind in "OSU":
        try:
            text = _arrow(values, from_pandas=True)  # None and NaN: missing
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # Python objects of several types
            text = pa.array([None if _missing(v) else str(v) for v in values], pa.string())
        if pa.types.is_binary(text.type) or pa.types.is_large_binary(text.type) or pa.types.is_fixed_size_binary(text.type):
            text = text.cast(pa.binary()).cast(pa.string())  # FITS text: bytes
        if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type) or pa.types.is_null(text.type)):
            raise NotWholeNumbers(f"is not numeric (dtype {values.dtype})")
        text = pc.utf8_trim_whitespace(text.cast(pa.string()))
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)  # an empty CSV cell: missing
        if pc.any(pc.match_substring(text, ".")).as_py():  # whole numbers written as floats: 1000000123.0
            text = pc.replace_substring_regex(text, r"^([+-]?\d+)\.0*$", r"\1")
        return _cast(text, (pa.int64(), pa.uint64()))
    raise NotWholeNumbers(f"is not numeric (dtype {values.dtype})")


def whole_numbers(values: pd.Series, sentinels=(), nullable: bool = False):
    """``values`` exactly: a numpy int64 (or uint64) array, or a pandas nullable integer array when
    some are missing (or ``nullable``: the same dtype for every part of a Dask frame).

    ``sentinels`` (numbers meaning "missing") are matched exactly: 2**53 is not 2**53 + 1.
    Raises NotWholeNumbers for a fraction, text that is no number, or a value beyond 64 bits.
    """
    array = _as_arrow_integers(values)
    low, high = _RANGES[array.type]
    wanted = sorted({int(s) for s in sentinels if math.isfinite(s) and float(s).is_integer() and low <= int(s) <= high})
    if wanted:
        hit = pc.is_in(array, value_set=pa.array(wanted, array.type))
        array = pc.if_else(hit, pa.scalar(None, array.type), array)
    return _to_pandas(array, nullable)


def _to_pandas(array: pa.Array, nullable: bool):
    if array.null_count or nullable:
        data = array.fill_null(0).to_numpy(zero_copy_only=False, writable=True)
        return pd.arrays.IntegerArray(data, array.is_null().to_numpy(zero_copy_only=False))
    return array.to_numpy(zero_copy_only=False, writable=True)


def concat_exact(frames: list[pd.DataFrame], describe: Callable[[str], str]) -> pd.DataFrame:
    """Frames one below the other; integer columns whose types differ (int64 in one file, uint64 in
    another) become the one type that holds them all, where pandas would make them float64.

    ``describe(column)`` names the column in the NotWholeNumbers raised when no type holds them all.
    """
    if len(frames) == 1:
        return frames[0]
    out = pd.concat(frames, ignore_index=True)
    for column in frames[0].columns:
        dtypes = {frame[column].dtype for frame in frames}
        if len(dtypes) == 1 or not all(is_whole_number_dtype(d) for d in dtypes):
            continue
        arrays = [_arrow(frame[column]) for frame in frames]
        bounds = [pc.min_max(a) for a in arrays if a.null_count < len(a)]
        low = min((b["min"].as_py() for b in bounds), default=0)
        high = max((b["max"].as_py() for b in bounds), default=0)
        if low < 0 and high > 2**63 - 1:
            raise NotWholeNumbers(f"{describe(column)} holds {low} and {high} across its files: no 64-bit integer type holds both")
        target = pa.uint64() if high > 2**63 - 1 else pa.int64()
        out[column] = _to_pandas(pa.chunked_array([a.cast(target) for a in arrays], type=target).combine_chunks(), nullable=False)
    return out


def as_text(values) -> list[str]:
    """Each identifier as the digits the file holds ("" when missing): how an id goes to a browser
    (JavaScript's numbers are float64) and into a CSV. Floats (NaN = none) are written whole."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if series.dtype.kind == "f":
        return ["" if not math.isfinite(v) else str(int(v)) for v in series.to_numpy(dtype=np.float64, na_value=np.nan)]
    return ["" if _missing(v) else str(v) for v in series.astype(object)]


def equal_to(values: pd.Series, number: int) -> np.ndarray:
    """Rows whose whole number is exactly ``number`` (never equal through float64; False where missing)."""
    kind = values.dtype.kind
    if is_whole_number_dtype(values.dtype):
        info = np.iinfo(values.dtype.numpy_dtype if hasattr(values.dtype, "numpy_dtype") else values.dtype)
        if not info.min <= number <= info.max:
            return np.zeros(len(values), dtype=bool)
        return (values == number).fillna(False).to_numpy(dtype=bool)
    if kind == "f":
        floats = values.to_numpy(dtype=np.float64, na_value=np.nan)
        hits = floats == float(number)  # every float that is exactly `number` rounds to it, and maybe a few neighbours
        candidates = np.flatnonzero(hits)
        hits[candidates] = [int(v) == number for v in floats[candidates]]
        return hits
    return np.zeros(len(values), dtype=bool)
