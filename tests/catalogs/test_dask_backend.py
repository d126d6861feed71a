"""The Dask backend's bad inputs: each one clear error from `vizcache catalog-info`, never a traceback."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vizcache.cli import main

from .conftest import write_config


@pytest.fixture
def folder(small_set, tmp_path):
    table = pq.read_table(f"{small_set.out_dir}/both.parquet")
    whole = (tmp_path / "whole.parquet")
    pq.write_table(table, whole)
    data = whole.read_bytes()
    (tmp_path / "truncated.parquet").write_bytes(data[: len(data) // 2])
    pq.write_table(table.slice(0, 0), tmp_path / "empty.parquet")
    dec = table.schema.get_field_index("DECLINATION_CLUSTER")
    pq.write_table(table.slice(0, 10).set_column(dec, "DECLINATION_CLUSTER", pa.array([np.nan] * 10)), tmp_path / "nocoords.parquet")
    body = "".join(f'[catalogs.{n.upper()}]\nfiles = "{n}.parquet"\nbackend = "dask"\n' for n in ("whole", "truncated", "empty", "nocoords"))
    write_config(tmp_path / "c.toml", body)
    return tmp_path


@pytest.mark.parametrize("name, message", [
    ("TRUNCATED", "truncated.parquet: not a readable Parquet file (Parquet magic bytes not found"),
    ("EMPTY", "catalog 'EMPTY': no rows in "),
    ("NOCOORDS", "catalog 'NOCOORDS': no rows with valid coordinates in "),
])
def test_bad_dask_catalogs_are_one_clear_error(folder, capsys, name, message):
    assert main(["catalog-info", str(folder / "c.toml"), name]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vizcache: error: ") and message in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_a_good_dask_catalog_still_reports(folder, capsys, small_set):
    assert main(["catalog-info", str(folder / "c.toml"), "WHOLE"]) == 0
    assert f"{small_set.rows['both']:,} rows" in capsys.readouterr().out
