"""64-bit ids read exactly from every format: never through float64, uint64 never wrapped to negative."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vizcache.catalogs.hats import HatsCatalog
from vizcache.catalogs.partition import PartitionSettings, partition_catalog
from vizcache.catalogs.readers import CatalogError
from vizcache.catalogs.source import CatalogSource
from vizcache.config import load_config

from .conftest import write_config
from .int64_catalogs import BCG, CROSS, FORMATS, catalog_config, ids_for, write_catalog


def load(folder, body, name="IDS"):
    return CatalogSource(load_config(write_config(folder / "c.toml", body)).catalogs[name]).load()


def exact(values) -> list:
    """Python ints (None where missing), whatever the column's dtype: what the user would read."""
    return [None if pd.isna(v) else int(v) for v in pd.Series(values).astype(object)]


def assert_exact_ids(data: pd.DataFrame, unsigned: bool):
    assert exact(data["id"]) == ids_for(unsigned)
    assert data["id"].dtype == (np.uint64 if unsigned else np.int64)
    assert exact(data["cross_id"]) == CROSS and data["cross_id"].dtype == pd.Int64Dtype()
    assert exact(data["ID_BCG"]) == BCG and data["ID_BCG"].dtype == np.int64


@pytest.mark.parametrize("unsigned", [False, True], ids=["int64", "uint64"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_ids_above_2_53_are_read_exactly(tmp_path, fmt, unsigned):
    write_catalog(tmp_path, fmt, unsigned)
    assert_exact_ids(load(tmp_path, catalog_config(fmt)).data, unsigned)


@pytest.mark.parametrize("unsigned", [False, True], ids=["int64", "uint64"])
def test_hats_partitions_keep_ids_exact(tmp_path, unsigned):
    write_catalog(tmp_path, "parquet", unsigned)
    spec = load_config(write_config(tmp_path / "c.toml", catalog_config("parquet"))).catalogs["IDS"]
    out = partition_catalog(spec, tmp_path / "ids_hats", PartitionSettings(max_rows=2, highest_order=3, threads=1), progress=False)
    hats = HatsCatalog("IDS_HATS", out, spec.mapping(), spec.missing, spec.float64)
    parts = pd.concat([hats.load_partition(p) for p in hats.partitions], ignore_index=True)
    assert len(hats.partitions) > 1
    assert sorted(exact(parts["id"])) == sorted(ids_for(unsigned))
    assert parts["id"].dtype in ((np.uint64, pd.UInt64Dtype()) if unsigned else (np.int64, pd.Int64Dtype()))
    by_id = dict(zip(exact(parts["id"]), exact(parts["cross_id"])))
    assert [by_id[i] for i in ids_for(unsigned)] == CROSS


@pytest.mark.parametrize("dtype", ["int64", "uint64"])
def test_dask_backend_keeps_ids_exact(tmp_path, dtype):
    ids = ids_for(dtype == "uint64")
    pq.write_table(pa.table({"ID": pa.array(ids, getattr(pa, dtype)()), "RA": [1.0, 2.0, 3.0, 4.0], "DEC": [0.0] * 4,
                             "X": pa.array([2**53 + 1, None, 5, None], pa.int64())}), tmp_path / "d.parquet")
    body = '[catalogs.D]\nfiles = "d.parquet"\nbackend = "dask"\ncolumns = { id = "ID", ra = "RA", dec = "DEC", cross_id = "X" }\n'
    data = load(tmp_path, body, "D").data.compute()
    assert exact(data["id"]) == ids and data["id"].dtype.kind == dtype[0]
    assert exact(data["cross_id"]) == [2**53 + 1, None, 5, None]


def test_sentinels_match_ids_exactly_and_whole_float_ids_are_read(tmp_path):
    # -1 is "no match"; 2**53 is an id, although float64 says 2**53 + 1 == 2**53 after rounding.
    pq.write_table(pa.table({"ID": pa.array([2**53 + 1, 2**53, -1], pa.int64()), "RA": [1.0, 2.0, 3.0], "DEC": [0.0] * 3,
                             "X": [1_000_000_123.0, np.nan, 4.0]}), tmp_path / "s.parquet")
    body = '[catalogs.S]\nfiles = "s.parquet"\ncolumns = { id = "ID", ra = "RA", dec = "DEC", cross_id = "X" }\nmissing = { id = [-1, 9007199254740992] }\n'
    data = load(tmp_path, body, "S").data
    assert exact(data["id"]) == [2**53 + 1, None, None]  # 2**53 is the sentinel, 2**53 + 1 is not
    assert exact(data["cross_id"]) == [1_000_000_123, None, 4]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("value, shown", [("12.5", "12.5"), ("abc", "abc"), ("18446744073709551616", "18446744073709551616")])
def test_an_id_that_is_not_a_64_bit_whole_number_is_one_line_naming_the_column(tmp_path, fmt, value, shown):
    if fmt == "csv":
        (tmp_path / "b.csv").write_text(f"ID,RA,DEC\n1,1.0,0.0\n{value},2.0,0.0\n")
    else:
        pq.write_table(pa.table({"ID": ["1", value], "RA": [1.0, 2.0], "DEC": [0.0, 0.0]}), tmp_path / "b.parquet")
    with pytest.raises(CatalogError) as error:
        load(tmp_path, f'[catalogs.B]\nfiles = "b.{fmt}"\ncolumns = {{ id = "ID", ra = "RA", dec = "DEC" }}\n', "B")
    message = str(error.value)
    assert "\n" not in message and f"b.{fmt}" in message and "'ID'" in message and shown in message, message


def test_files_with_signed_and_unsigned_ids_concatenate_exactly(tmp_path):
    pq.write_table(pa.table({"ID": pa.array([2**63 - 1], pa.int64()), "RA": [1.0], "DEC": [0.0]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"ID": pa.array([2**64 - 1], pa.uint64()), "RA": [2.0], "DEC": [0.0]}), tmp_path / "b.parquet")
    body = '[catalogs.AB]\nfiles = "[ab].parquet"\ncolumns = { id = "ID", ra = "RA", dec = "DEC" }\n'
    data = load(tmp_path, body, "AB").data
    assert exact(data["id"]) == [2**63 - 1, 2**64 - 1] and data["id"].dtype == np.uint64
    pq.write_table(pa.table({"ID": pa.array([-5], pa.int64()), "RA": [1.0], "DEC": [0.0]}), tmp_path / "a.parquet")
    with pytest.raises(CatalogError, match=r"^catalog 'AB': column 'ID' .*-5.*18446744073709551615") as error:
        load(tmp_path, body, "AB")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("wanted", [["RA", "DEC"], ["RA", "DEC", "SNR"]])
def test_duplicate_parquet_columns_are_one_line_naming_file_and_column(tmp_path, wanted):
    table = pa.Table.from_arrays([pa.array([1.0]), pa.array([2.0]), pa.array([3.0]), pa.array([4.0]), pa.array([5.0])],
                                 names=["RA", "DEC", "RA", "SNR", "SNR"])
    pq.write_table(table, tmp_path / "dup.parquet")
    columns = ", ".join(f'{c.lower()} = "{c}"' for c in wanted)
    with pytest.raises(CatalogError) as error:
        load(tmp_path, f'[catalogs.D]\nfiles = "dup.parquet"\ncolumns = {{ {columns} }}\n', "D")
    message = str(error.value)
    duplicated = [c for c in wanted if c in ("RA", "SNR")]
    assert "\n" not in message and "dup.parquet" in message, message
    assert f"more than once: {', '.join(duplicated)}" in message, message
