"""Readers: round trips, survey column mappings, and every bad input as one clear error."""

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from vizcache import AgeBased, Cache, ConfigError
from vizcache.catalogs.projections import ra_extent
from vizcache.catalogs.readers import CatalogError
from vizcache.catalogs.source import CatalogSource, resolve_files
from vizcache.config import load_config

from .conftest import write_config


def source(tmp_path, body, name="CAT"):
    return CatalogSource(load_config(write_config(tmp_path / "c.toml", body)).catalogs[name])


def clusters_frame(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "ID_UNIQUE_CLUSTER": np.arange(n, dtype=np.int64) + 2_000_000_000,
        "RIGHT_ASCENSION_CLUSTER": rng.uniform(0, 360, n), "DECLINATION_CLUSTER": rng.uniform(-60, 60, n),
        "Z_CLUSTER": rng.uniform(0.1, 2, n), "Z_ERR_CLUSTER": rng.uniform(0, 0.1, n), "SNR_CLUSTER": rng.uniform(3, 10, n),
        "RICHNESS_CLUSTER": rng.uniform(10, 100, n), "RADIUS_CLUSTER": rng.uniform(0.01, 0.1, n),
        "DET_CODE_NB": np.full(n, 2), "CROSS_ID_CLUSTER": np.where(np.arange(n) % 2, 1_000_000_123.0, np.nan),
    })


@pytest.mark.parametrize("fmt", ["parquet", "csv", "fits"])
def test_round_trip_each_format(tmp_path, fmt):
    df = clusters_frame()
    path = tmp_path / f"cat.{fmt}"
    if fmt == "parquet":
        df.to_parquet(path)
    elif fmt == "csv":
        df.to_csv(path, index=False)
    else:
        cols = [fits.Column(name=c, format="K" if df[c].dtype.kind == "i" else "D", array=df[c].to_numpy(), unit="degrees (J2000)" if "ASC" in c else None) for c in df]
        fits.BinTableHDU.from_columns(cols).writeto(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an odd unit string must not warn
        cat = source(tmp_path, f'[catalogs.CAT]\nfiles = "cat.{fmt}"\nkind = "clusters"\n').load()
    data = cat.data
    assert len(cat) == 50 and data["id"].dtype == np.int64 and data["id"].iloc[3] == 2_000_000_003
    assert data["ra"].dtype == np.float32 and data["ra"].dtype.isnative
    np.testing.assert_allclose(data["dec"], df["DECLINATION_CLUSTER"], atol=1e-4)
    # exact: an integer column (nullable: "no match" is missing), not float
    assert data["cross_id"].dtype == pd.Int64Dtype() and data["cross_id"].iloc[1] == 1_000_000_123 and data["cross_id"].isna().sum() == 25
    assert {"x_allsky", "y_allsky"} <= set(data.columns)


def test_fits_big_endian_columns_become_native(small_set):
    with fits.open(small_set.files["both_fits"][0]) as h:
        assert h[1].data["Z_CLUSTER"].dtype.byteorder == ">"
    folder = os.path.dirname(small_set.files["both_fits"][0])
    spec = load_config(write_config(__import__("pathlib").Path(folder) / "fits.toml", '[catalogs.CAT]\nfiles = "both.fits"\n')).catalogs["CAT"]
    data = CatalogSource(spec).load().data
    assert all(getattr(data[c].dtype, "numpy_dtype", data[c].dtype).isnative for c in data.columns)  # nullable ids: their numpy values
    assert len(data) == small_set.rows["both"]


def test_psz2_shaped_table_with_sentinel_redshift(tmp_path):
    pd.DataFrame({"INDEX": [1, 2, 3], "RA": [10.0, 200.0, 359.5], "DEC": [-5.0, 40.0, 1.0], "REDSHIFT": [0.2, -1.0, 0.5], "SNR": [6.0, 4.5, 9.1]}).to_parquet(tmp_path / "psz2.parquet")
    cat = source(tmp_path, '[catalogs.CAT]\nfiles = "psz2.parquet"\nkind = "clusters"\ncolumns = { id = "INDEX", ra = "RA", dec = "DEC", z = "REDSHIFT", snr = "SNR" }\nmissing = { z = -1 }\nfloat64 = ["ra", "dec"]\n').load()
    assert list(cat.data.columns[:5]) == ["id", "ra", "dec", "z", "snr"]
    assert np.isnan(cat.data["z"].iloc[1]) and cat.data["z"].iloc[0] == pytest.approx(0.2)
    assert cat.data["ra"].dtype == np.float64


def test_redmapper_shaped_table(tmp_path):
    pd.DataFrame({"MEM_MATCH_ID": [7, 8], "RA": [150.1, 150.2], "DEC": [2.1, 2.2], "Z_LAMBDA": [0.3, 0.4], "LAMBDA": [45.0, 80.0]}).to_csv(tmp_path / "rm.csv", index=False)
    cat = source(tmp_path, '[catalogs.CAT]\nfiles = "rm.csv"\ncolumns = { id = "MEM_MATCH_ID", ra = "RA", dec = "DEC", z = "Z_LAMBDA", richness = "LAMBDA" }\n').load()
    assert cat.data["richness"].tolist() == [45.0, 80.0] and cat.mapping["richness"] == "LAMBDA"


def test_bad_coordinates_are_dropped_and_counted(tmp_path):
    pd.DataFrame({"RA": [10.0, np.nan, 20.0, 370.0, -10.0], "DEC": [0.0, 1.0, 95.0, 5.0, 5.0]}).to_parquet(tmp_path / "x.parquet")
    cat = source(tmp_path, '[catalogs.CAT]\nfiles = "x.parquet"\ncolumns = { ra = "RA", dec = "DEC" }\n').load()
    assert len(cat) == 3
    assert cat.report.dropped == {"missing ra/dec": 1, "dec outside [-90, 90] or infinite ra": 1}
    assert sorted(cat.data["ra"].tolist()) == [10.0, 10.0, 350.0]  # 370 and -10 wrap
    assert cat.info()["rows_dropped"] == cat.report.dropped


BAD_FILES = {
    "missing_column": (lambda p: pd.DataFrame({"RA": [1.0]}).to_parquet(p / "c.parquet"), "c.parquet", "missing column(s) DEC; the file has: RA"),
    "non_numeric": (lambda p: pd.DataFrame({"RA": ["a", "b"], "DEC": [1.0, 2.0]}).to_parquet(p / "c.parquet"), "c.parquet", "column 'RA' (mapped to 'ra') is not numeric"),
    "empty": (lambda p: (p / "c.parquet").write_bytes(b""), "c.parquet", "file is empty"),
    "corrupt_parquet": (lambda p: (p / "c.parquet").write_bytes(b"PAR1 not really"), "c.parquet", "not a readable Parquet file"),
    "corrupt_fits": (lambda p: (p / "c.fits").write_bytes(b"SIMPLE  = garbage" * 10), "c.fits", "FITS"),
    "unknown_format": (lambda p: (p / "c.xlsx").write_bytes(b"x"), "c.xlsx", "unknown catalog format; allowed file endings: .parquet"),
    "no_rows": (lambda p: pd.DataFrame({"RA": [np.nan], "DEC": [1.0]}).to_parquet(p / "c.parquet"), "c.parquet", "no rows with valid coordinates"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_catalog_files_give_one_clear_error(tmp_path, case):
    make, filename, expected = BAD_FILES[case]
    make(tmp_path)
    src = source(tmp_path, f'[catalogs.CAT]\nfiles = "{filename}"\ncolumns = {{ ra = "RA", dec = "DEC" }}\n')
    with pytest.raises(CatalogError) as info:
        src.load()
    assert filename in str(info.value) and expected in str(info.value)


def test_file_vanishing_between_listing_and_reading(tmp_path):
    clusters_frame().to_parquet(tmp_path / "a.parquet")
    src = source(tmp_path, '[catalogs.CAT]\nfiles = "*.parquet"\n')
    version = src.version()  # listed
    (tmp_path / "a.parquet").unlink()
    with pytest.raises(CatalogError, match="no file matches"):
        src.load()
    with pytest.raises(CatalogError, match="no file matches"):
        src.version()
    assert version


def test_changed_file_is_loaded_again_not_served_stale(tmp_path):
    clusters_frame(10).to_parquet(tmp_path / "a.parquet")
    src = source(tmp_path, '[catalogs.CAT]\nfiles = "a.parquet"\n')
    cache = Cache(AgeBased())
    assert len(cache.get_or_load(src.version(), src.load)) == 10
    assert len(cache.get_or_load(src.version(), src.load)) == 10 and cache.stats()["loads"] == 1
    clusters_frame(20).to_parquet(tmp_path / "a.parquet")
    assert len(cache.get_or_load(src.version(), src.load)) == 20 and cache.stats()["loads"] == 2


def test_files_outside_the_data_folders_are_refused(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "secret").mkdir()
    clusters_frame().to_parquet(tmp_path / "secret" / "a.parquet")
    with pytest.raises(ConfigError, match="outside the data folders"):
        load_config(write_config(tmp_path / "c.toml", '[catalogs.CAT]\nfiles = "data/../secret/a.parquet"\n', folders=("data",)))
    # a link inside the folder that points outside is refused at read time
    (tmp_path / "data" / "link.parquet").symlink_to(tmp_path / "secret" / "a.parquet")
    src = CatalogSource(load_config(write_config(tmp_path / "c.toml", '[catalogs.CAT]\nfiles = "data/*.parquet"\n', folders=("data",))).catalogs["CAT"])
    with pytest.raises(CatalogError, match="outside the configured folders"):
        src.load()


BAD_CONFIG = {
    "kind": ('[catalogs.CAT]\nfiles = "a.parquet"\nkind = "galaxies"\n', "kind = 'galaxies' is not allowed: use one of 'clusters', 'members'"),
    "no_files": ('[catalogs.CAT]\nkind = "clusters"\n', "files must be a file path or a list"),
    "unknown_key": ('[catalogs.CAT]\nfiles = "a.parquet"\ncolour = 1\n', "unknown key 'colour'; allowed keys: files, kind"),
    "canonical": ('[catalogs.CAT]\nfiles = "a.parquet"\ncolumns = { ra = "RA", dec = "DEC", mass = "M500" }\n', "unknown canonical column 'mass' for clusters"),
    "no_ra": ('[catalogs.CAT]\nfiles = "a.parquet"\ncolumns = { dec = "DEC" }\n', "columns must map ra"),
    "backend": ('[catalogs.CAT]\nfiles = "a.parquet"\nbackend = "spark"\n', "backend = 'spark' is not allowed: use one of 'pandas', 'dask'"),
    "format": ('[catalogs.CAT]\nfiles = "a.dat"\nformat = "hdf5"\n', "format = 'hdf5' is not allowed"),
    "section": ('[catalog.CAT]\nfiles = "a.parquet"\n', "unknown section [catalog]; allowed sections: policy, data, catalogs, viewer, trace"),
    "sentinel": ('[catalogs.CAT]\nfiles = "a.parquet"\nmissing = { z = "none" }\n', "missing.z = 'none' is not allowed"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIG))
def test_bad_catalog_config(tmp_path, case):
    body, expected = BAD_CONFIG[case]
    path = write_config(tmp_path / "c.toml", body)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(str(path.resolve())) and expected in str(info.value)


def test_dask_backend_reads_the_same_rows(small_set, tmp_path):
    folder = os.path.dirname(small_set.files["members"][0])
    config = write_config(__import__("pathlib").Path(folder) / "dask.toml",
                          '[catalogs.P]\nfiles = "members-*.parquet"\nkind = "members"\n\n[catalogs.D]\nfiles = "members-*.parquet"\nkind = "members"\nbackend = "dask"\n')
    specs = load_config(config).catalogs
    pandas_cat, dask_cat = CatalogSource(specs["P"]).load(), CatalogSource(specs["D"]).load()
    assert type(dask_cat.data).__module__.startswith("dask")
    assert len(dask_cat.data) == len(pandas_cat) == small_set.rows["members"]
    assert dask_cat.data.npartitions == len(resolve_files(specs["D"]))
    computed = dask_cat.data.compute().reset_index(drop=True)
    pd.testing.assert_frame_equal(computed, pandas_cat.data)


def test_ra_extent_across_zero():
    assert ra_extent(np.array([350.0, 355.0, 2.0, 10.0])) == pytest.approx((350.0, 10.1))
    assert ra_extent(np.array([100.0, 120.0])) == pytest.approx((100.0, 120.1))


def test_dask_scheduler_address_runs_on_that_cluster(small_set):
    from distributed import Client, LocalCluster

    folder = Path(small_set.files["members"][0]).parent
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        config = write_config(folder / "cluster.toml", f'[catalogs.D]\nfiles = "members-*.parquet"\nkind = "members"\nbackend = "dask"\nscheduler = "{cluster.scheduler_address}"\n')
        catalog = CatalogSource(load_config(config).catalogs["D"]).load()
        assert len(catalog.data) == small_set.rows["members"]
        assert cluster.scheduler.task_prefixes  # the reading ran on that cluster's scheduler
        client = Client.current()
        CatalogSource(load_config(config).catalogs["D"]).load()  # loaded again: the same client, not one more per load
        assert Client.current() is client and len(cluster.scheduler.clients) == 2  # this one and the cluster's own
        client.close()


def test_unreachable_dask_scheduler_is_one_clear_error(small_set):
    folder = Path(small_set.files["members"][0]).parent
    config = write_config(folder / "nocluster.toml", '[catalogs.D]\nfiles = "members-*.parquet"\nkind = "members"\nbackend = "dask"\nscheduler = "tcp://127.0.0.1:9"\n')
    with pytest.raises(CatalogError, match=r"catalog 'D': cannot reach the Dask scheduler 'tcp://127.0.0.1:9'"):
        CatalogSource(load_config(config).catalogs["D"]).load()
