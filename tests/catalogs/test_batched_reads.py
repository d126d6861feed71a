"""Parquet catalogs are read in row batches and joined column by column (a load's peak stays near what it keeps,
docs/performance.md "A load's peak"): the result must be exactly the whole-file read's."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vizcache.catalogs import readers

from .test_readers import clusters_frame, source

CLUSTERS = '[catalogs.CAT]\nfiles = "c-*.parquet"\nkind = "clusters"\n'


def whole_file_load(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "BATCH_ROWS", 10**9)
    monkeypatch.setattr(readers, "PROJECTION_CHUNK", 10**9)
    return source(tmp_path, CLUSTERS).load().data


def test_batches_and_chunks_give_exactly_the_whole_file_read(tmp_path, monkeypatch):
    frame = clusters_frame(5_000, seed=3)
    frame.loc[[7, 4_100], "RIGHT_ASCENSION_CLUSTER"] = np.nan  # dropped in two different batches
    frame.loc[2_500, "DECLINATION_CLUSTER"] = 95.0
    for i, part in enumerate((frame.iloc[:2_600], frame.iloc[2_600:])):
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), tmp_path / f"c-{i}.parquet", row_group_size=700)
    whole = whole_file_load(tmp_path, monkeypatch)
    monkeypatch.setattr(readers, "BATCH_ROWS", 333)
    monkeypatch.setattr(readers, "PROJECTION_CHUNK", 257)
    catalog = source(tmp_path, CLUSTERS).load()
    pd.testing.assert_frame_equal(catalog.data, whole)
    assert len(catalog) == 4_997 and catalog.report.dropped == {"missing ra/dec": 2, "dec outside [-90, 90] or infinite ra": 1}
    assert catalog.data["id"].dtype == np.int64 and catalog.data["id"].iloc[-1] == 2_000_004_999


def test_ids_missing_in_one_batch_only_stay_exact(tmp_path, monkeypatch):
    # int64 in one batch, nullable Int64 in the next (a missing id): joined without a float64 round trip
    ids = pd.array([2**62 + i for i in range(10)] + [None] + [2**62 + 11], dtype="Int64")
    part = pd.DataFrame({"ID_UNIQUE_CLUSTER": ids, "RIGHT_ASCENSION_CLUSTER": np.linspace(1, 12, 12),
                         "DECLINATION_CLUSTER": np.zeros(12)})
    pq.write_table(pa.Table.from_pandas(part, preserve_index=False), tmp_path / "c-0.parquet")
    body = '[catalogs.CAT]\nfiles = "c-*.parquet"\ncolumns = { ra = "RIGHT_ASCENSION_CLUSTER", dec = "DECLINATION_CLUSTER", id = "ID_UNIQUE_CLUSTER" }\n'
    monkeypatch.setattr(readers, "BATCH_ROWS", 5)
    ids_read = source(tmp_path, body).load().data["id"]
    assert ids_read.dtype == pd.Int64Dtype()
    assert ids_read.tolist() == [2**62 + i for i in range(10)] + [pd.NA, 2**62 + 11]


def test_every_column_is_its_own_block(tmp_path):
    # one block per column: a later eviction frees columns as they go, and no load made a consolidating copy
    pq.write_table(pa.Table.from_pandas(clusters_frame(100), preserve_index=False), tmp_path / "c-0.parquet")
    data = source(tmp_path, CLUSTERS).load().data
    assert data._mgr.nblocks == len(data.columns)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_file_is_one_line_from_the_batched_reader(tmp_path, damage):
    path = tmp_path / "c-0.parquet"
    pq.write_table(pa.Table.from_pandas(clusters_frame(2_000), preserve_index=False), path, row_group_size=500)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + data[-8:] if damage == "truncated" else b"PAR1" + b"\0" * 100 + data[-8:])
    with pytest.raises(readers.CatalogError) as error:
        source(tmp_path, CLUSTERS).load()
    assert str(path) in str(error.value) and "not a readable Parquet file" in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("rows, batches", [(2_000, 8), (40_000, 40), (150, 2)])
def test_a_small_file_is_read_in_eighths_and_a_big_one_in_the_largest_batches(tmp_path, monkeypatch, rows, batches):
    # An eighth of the file, between SMALL_BATCH_ROWS and BATCH_ROWS: small files' transient memory stays small.
    monkeypatch.setattr(readers, "SMALL_BATCH_ROWS", 100)
    monkeypatch.setattr(readers, "BATCH_ROWS", 1_000)
    path = tmp_path / "c.parquet"
    pq.write_table(pa.Table.from_pandas(clusters_frame(rows, seed=5), preserve_index=False), path)
    sizes = [len(part) for part in readers.read_source_batches(path, "parquet", ["RIGHT_ASCENSION_CLUSTER"])]
    assert len(sizes) == batches and sum(sizes) == rows
