"""Bad input to `vizcache partition` and damaged HATS catalogs: one line naming the file or folder, exit code 2, nothing written."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from vizcache.catalogs.partition import PartitionSettings, partition_catalog
from vizcache.catalogs.readers import CatalogError
from vizcache.config import load_config

from .cli_run import one_error_line, vizcache


@pytest.fixture
def catalogs(tmp_path):
    """A good Parquet catalog, a corrupt one, and one whose RA is text (digits, which numpy would read as numbers)."""
    rng = np.random.default_rng(5)
    n = 2_000
    good = pd.DataFrame({"RA": rng.uniform(0, 360, n), "DEC": rng.uniform(-80, 80, n)})
    good.to_parquet(tmp_path / "good.parquet")
    good.assign(RA=good["RA"].map("{:.4f}".format)).to_parquet(tmp_path / "text_ra.parquet")
    (tmp_path / "corrupt.parquet").write_bytes((tmp_path / "good.parquet").read_bytes()[:3_000] + b"not parquet" * 50)
    columns = 'columns = { ra = "RA", dec = "DEC" }\n'
    config = tmp_path / "c.toml"
    config.write_text('[data]\nfolders = ["."]\n' + "".join(
        f'[catalogs.{name}]\nfiles = "{name.lower()}.parquet"\n{columns}' for name in ("GOOD", "TEXT_RA", "CORRUPT")))
    return config


def test_partition_of_a_corrupt_parquet_file_is_one_line(catalogs, tmp_path):
    line = one_error_line(vizcache("partition", catalogs, "CORRUPT", "--out", tmp_path / "out"))
    assert f"{tmp_path / 'corrupt.parquet'}: not a readable Parquet file" in line
    assert not (tmp_path / "out").exists() and not (tmp_path / ".out-tmp").exists()


def test_partition_into_a_file_is_one_line(catalogs, tmp_path):
    (tmp_path / "taken").write_text("mine")
    line = one_error_line(vizcache("partition", catalogs, "GOOD", "--out", tmp_path / "taken"))
    assert f"{tmp_path / 'taken'}: exists and is not a folder" in line
    line = one_error_line(vizcache("partition", catalogs, "GOOD", "--out", tmp_path / "taken" / "sub"))
    assert f"{tmp_path / 'taken' / 'sub'}: cannot use it as the output folder (Not a directory)" in line
    assert (tmp_path / "taken").read_text() == "mine"


def test_partition_refuses_text_coordinates_as_catalog_info_does(catalogs, tmp_path):
    info = one_error_line(vizcache("catalog-info", catalogs, "TEXT_RA"))
    line = one_error_line(vizcache("partition", catalogs, "TEXT_RA", "--out", tmp_path / "out"))
    assert line == info and "column 'RA' (mapped to 'ra') is not numeric" in line
    assert not (tmp_path / "out").exists()


def test_text_coordinates_past_the_checked_rows_fail_the_run_with_one_error(tmp_path, capfd):
    """Rows beyond those checked up front (past the first MiB of a CSV) reach hats-import's tasks: their
    failure is one CatalogError, and no traceback is shown."""
    n = 120_000
    ra = [f"{x:.3f}" for x in np.linspace(0, 359, n)]
    ra[-1] = "12h30m"  # text only in the last chunk
    pd.DataFrame({"RA": ra, "DEC": np.linspace(-60, 60, n)}).to_csv(tmp_path / "late.csv", index=False)
    config = tmp_path / "c.toml"
    config.write_text('[catalogs.LATE]\nfiles = "late.csv"\ncolumns = { ra = "RA", dec = "DEC" }\n')
    spec = load_config(config).catalogs["LATE"]
    settings = PartitionSettings(max_rows=5_000, highest_order=4, threads=1, chunk_rows=20_000)
    with pytest.raises(CatalogError, match=r"partitioning into .*out failed \(Some mapping stages failed\.; the file and reason"):
        partition_catalog(spec, tmp_path / "out", settings, progress=False)
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert f"{tmp_path / 'late.csv'}: column 'RA' is not numeric" in captured.out  # hats-import's report of the task


# -- a damaged HATS catalog: catalog-info says what is wrong on one line ---------------------------

@pytest.fixture(scope="module")
def hats_catalog(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hats")
    rng = np.random.default_rng(6)
    pd.DataFrame({"RA": rng.uniform(0, 360, 2_000), "DEC": rng.uniform(-80, 80, 2_000)}).to_parquet(folder / "t.parquet")
    config = folder / "c.toml"
    config.write_text('[catalogs.T]\nfiles = "t.parquet"\ncolumns = { ra = "RA", dec = "DEC" }\n')
    partition_catalog(load_config(config).catalogs["T"], folder / "th", PartitionSettings(max_rows=500, highest_order=5, threads=1),
                      progress=False)
    return folder / "th"


def _properties(text: bytes):
    def damage(catalog):
        for name in ("hats.properties", "properties"):
            (catalog / name).write_bytes(text)
    return damage


def _cut_skymaps(catalog):
    for skymap in catalog.glob("skymap*.fits"):
        skymap.write_bytes(skymap.read_bytes()[:3_000])


DAMAGE = {
    "properties-missing-keys": (_properties(b"hats_nrows=2000\n"),
                                "its hats.properties file: obs_collection: Field required; dataproduct_type: Field required"),
    "properties-bad-number": (_properties(b"obs_collection=th\ndataproduct_type=object\nhats_nrows=many\nhats_col_ra=RA\n"
                                          b"hats_col_dec=DEC\n"), "its hats.properties file: hats_nrows: Input should be a valid integer"),
    "properties-bad-kind": (_properties(b"obs_collection=th\ndataproduct_type=banana\n"), "dataproduct_type: Input should be 'object'"),
    "properties-not-utf8": (_properties(b"\xff\xfe\x00garbage"), "can't decode byte 0xff"),
    "partition-info-text": (lambda c: (c / "partition_info.csv").write_text("Norder,Npix\nx,y\n"), "is not a readable HATS catalog"),
    "skymap-cut-off": (_cut_skymaps, "skymap is not readable"),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_hats_catalog_is_one_line(hats_catalog, tmp_path, case):
    damage, message = DAMAGE[case]
    catalog = tmp_path / "th"
    shutil.copytree(hats_catalog, catalog)
    damage(catalog)
    config = tmp_path / "c.toml"
    config.write_text('[catalogs.TH]\nfiles = "th"\nformat = "hats"\ncolumns = { ra = "RA", dec = "DEC" }\n')
    line = one_error_line(vizcache("catalog-info", config, "TH"))
    assert str(catalog) in line and message in line
