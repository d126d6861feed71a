"""Arguments hashed by content, exactly (#23): ``pn.cache`` hashes a frame of 100K+ rows from a
100K-row sample, so two frames that differ outside the sample share a result."""

from __future__ import annotations

import numpy as np
import pandas as pd
from panel.io.cache import _generate_hash as panel_hash

import vizcache
from vizcache.memoize_hashing import content_hash


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"ra": rng.random(rows), "id": np.arange(rows), "z": rng.random(rows).astype("float32"),
                         "name": pd.Series(np.arange(rows)).astype(str)})


def _changed_outside_panels_sample(frame: pd.DataFrame) -> pd.DataFrame:
    sampled = set(frame.sample(n=100_000, random_state=0).index)  # the rows Panel hashes
    row = next(i for i in range(len(frame)) if i not in sampled)
    other = frame.copy()
    other.loc[row, "ra"] = -1.0
    return other


def test_a_frame_changed_outside_panels_sample_is_another_call():
    frame = _frame(300_000)
    other = _changed_outside_panels_sample(frame)
    assert panel_hash(frame) == panel_hash(other)  # pn.cache would hand one the other's result

    @vizcache.cached
    def brightest(catalog):
        return float(catalog.ra.min())

    assert brightest(frame) >= 0.0
    assert brightest(other) == -1.0


def test_large_arrays_are_hashed_whole():
    values = np.arange(1_000_000, dtype=float)
    changed = values.copy()
    changed[np.setdiff1d(np.arange(values.size), np.random.RandomState(0).choice(values.size, 100_000))[0]] = -1
    assert content_hash(values) != content_hash(changed)
    assert content_hash(values) == content_hash(values.copy())
    assert content_hash(values.astype("float32")) != content_hash(values)  # dtype counts


def test_column_kinds_are_hashed_by_their_values():
    frame = pd.DataFrame({
        "text": ["a", "b", "c"], "nullable": pd.array([1, None, 3], dtype="Int64"),
        "category": pd.Categorical(["x", "y", "x"]), "when": pd.date_range("2026", periods=3, tz="UTC"),
        "mixed": [1, "1", None],
    })
    assert content_hash(frame) == content_hash(frame.copy())
    for column, value in [("text", "z"), ("nullable", 2), ("category", "y"), ("mixed", 1.0)]:
        other = frame.copy()
        other.loc[0, column] = value
        assert content_hash(other) != content_hash(frame), column
    assert content_hash(frame.iloc[::-1]) != content_hash(frame)  # row order counts (Panel sums row hashes)
    assert content_hash(frame.rename(columns={"text": "label"})) != content_hash(frame)


def test_containers_types_and_cycles():
    assert content_hash(1) != content_hash(1.0) != content_hash(True)
    assert content_hash({1, 2}) == content_hash({2, 1}) and content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})
    assert content_hash([1, 2]) != content_hash((1, 2)) != content_hash([2, 1])
    loop = [0]
    loop.append(loop)
    assert content_hash(loop) == content_hash(loop)


def test_hash_funcs_win_over_the_rules():
    class Handle:
        def __init__(self, path):
            self.path = path

    by_path = {Handle: lambda h: h.path.encode()}
    assert content_hash(Handle("a"), by_path) == content_hash(Handle("a"), by_path)
    assert content_hash(Handle("a")) != content_hash(Handle("a"))  # no rule: each object is itself, as in Panel


def test_polars_frames_are_hashed_whole():
    import polars as pl

    frame = pl.DataFrame({"ra": np.arange(300_000, dtype=float)})
    other = frame.with_columns(pl.when(pl.int_range(pl.len()) == 123_457).then(-1.0).otherwise(pl.col("ra")).alias("ra"))
    assert content_hash(frame) == content_hash(frame.clone()) != content_hash(other)
    assert content_hash(frame.lazy()) != content_hash(other.lazy())
