"""A name column and extra columns in the mapping: a PSZ2-like FITS table reads with its NAME and chosen columns."""

import numpy as np
import pytest

from vizcache.catalogs.source import CatalogSource
from vizcache.config import ConfigError, load_config

from .conftest import write_config
from .psz2 import PSZ2_MAPPING, write_psz2


def test_psz2_like_fits_reads_names_extras_and_unknown_redshifts(tmp_path):
    truth = write_psz2(tmp_path / "psz2.fits")
    spec = load_config(write_config(tmp_path / "c.toml", PSZ2_MAPPING)).catalogs["PSZ2"]
    data = CatalogSource(spec).load().data
    assert data["name"].tolist() == truth["names"]  # stripped Python strings, not padded bytes
    assert data.loc[0, "name"] == "PSZ2 G266.04-21.25"
    assert np.isnan(data["z"].to_numpy()[1::3]).all() and np.isfinite(data["z"].to_numpy()[0::3]).all()
    assert data["GLON"].dtype == np.float64 and data["REDSHIFT_SOURCE"].dtype == np.int64  # whole numbers stay exact
    assert data["ra"].to_numpy() == pytest.approx(truth["ra"])


@pytest.mark.parametrize("extra, words", [
    ('["id"]', "not named like a canonical column"),
    ("[1]", "list of source column names"),
])
def test_bad_extra_is_one_clear_error(tmp_path, extra, words):
    write_psz2(tmp_path / "psz2.fits")
    body = f'[catalogs.PSZ2]\nfiles = "psz2.fits"\ncolumns = {{ ra = "RA", dec = "DEC" }}\nextra = {extra}\n'
    with pytest.raises(ConfigError, match=words):
        load_config(write_config(tmp_path / "c.toml", body))


def test_missing_extra_column_names_the_file_and_column(tmp_path):
    write_psz2(tmp_path / "psz2.fits")
    body = '[catalogs.PSZ2]\nfiles = "psz2.fits"\ncolumns = { ra = "RA", dec = "DEC" }\nextra = ["MCXC"]\n'
    spec = load_config(write_config(tmp_path / "c.toml", body)).catalogs["PSZ2"]
    with pytest.raises(ValueError, match=r"psz2.fits: missing column\(s\) MCXC"):
        CatalogSource(spec).load()
