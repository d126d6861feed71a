"""VOTable, FITS and ECSV exports read back with astropy: the same rows, the catalog's own names, units and meta."""

import io

import numpy as np
import pandas as pd
import param
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.io.votable import parse
from astropy.table import Table

import vizcache
from vizcache.catalogs.schema import EUCLID_COLUMNS
from vizcache.config import load_config
from vizcache.viewer.exports import FORMATS, ExportButtons, astropy_table, comparison_table, header_titles, listed_table, write
from vizcache.viewer.finder_comparison import FinderComparison
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.samp import SampSender
from vizcache.viewer.skymap import SkyMap

from .conftest import make_config

pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest
ASTROPY_FORMAT = {"VOTable": "votable", "FITS": "fits", "ECSV": "ascii.ecsv"}
SOURCE = EUCLID_COLUMNS["clusters"]


def read_back(table, fmt):
    return Table.read(write(table, fmt), format=ASTROPY_FORMAT[fmt])


def meta_of(buffer, fmt) -> dict:
    """The meta as each format holds it: INFO elements, header cards, ECSV's YAML."""
    if fmt == "VOTable":
        return {info.name: info.value for info in parse(buffer).resources[0].tables[0].infos}
    table = Table.read(buffer, format=ASTROPY_FORMAT[fmt])
    return {key.lower(): value for key, value in table.meta.items()}


def text(column) -> list[str]:
    values = column.filled("") if hasattr(column, "filled") else column
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in np.asarray(values)]


@pytest.fixture
def sky(viewer_data):
    return SkyMap(runtime=ViewerRuntime(load_config(make_config(viewer_data)), sample_every=60), served=False)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_rows_in_view_read_back_with_the_catalogs_names_units_and_meta(sky, fmt):
    sky.snr_range = (5.0, 60.0)
    sky.set_view_ranges((40.0, 60.0), (-60.0, -45.0))
    listed = sky.table.listed()
    assert 50 < len(listed) < len(sky.frame)
    back = read_back(listed_table(sky.table), fmt)
    assert back.colnames == [SOURCE.get(c, c) for c in listed.columns]  # ID_UNIQUE_CLUSTER, RIGHT_ASCENSION_CLUSTER, ...
    assert back["RIGHT_ASCENSION_CLUSTER"].unit == "deg" and back["DECLINATION_CLUSTER"].unit == "deg"
    assert back["Z_CLUSTER"].unit is None and back["SNR_CLUSTER"].unit is None
    assert back["ID_UNIQUE_CLUSTER"].tolist() == listed["id"].tolist()  # exact 64-bit ids, in the table's order
    assert np.array_equal(np.asarray(back["RIGHT_ASCENSION_CLUSTER"]), listed["ra"].to_numpy())
    assert np.array_equal(np.asarray(back["SNR_CLUSTER"]), listed["snr"].to_numpy(), equal_nan=True)
    assert np.asarray(back["SNR_CLUSTER"]).min() >= 5.0
    meta = meta_of(write(listed_table(sky.table), fmt), fmt)
    assert meta["catalog"] == "BOTH" and meta[{"FITS": "srcfiles"}.get(fmt, "source_files")] == "both.parquet"  # a name, no path
    assert meta["filters"] == "snr 5-60" and meta["view"] == "RA 40 to 60, Dec -60 to -45 deg"
    assert meta[{"FITS": "vizcache"}.get(fmt, "vizcache_version")] == vizcache.__version__


def test_the_selection_is_what_is_exported(sky):
    sky.set_view_ranges((40.0, 60.0), (-60.0, -45.0))
    frame, _ = sky.view
    chosen = sky.table.listed().index[[0, 3, 5]]
    sky.select(frame.index.get_indexer(chosen))
    table = listed_table(sky.table)
    assert sorted(table["ID_UNIQUE_CLUSTER"].tolist()) == sorted(frame.loc[chosen, "id"].tolist())
    assert table.meta["rows"] == "the selection on the map"
    assert len(read_back(table, "VOTable")) == 3
    # The files say what they hold: the catalog and the selection (all were "catalog_in_view").
    names = [button.filename for button in (sky.table.download, *sky.table.exports.buttons)]
    assert names == [f"{sky.shown}_selected{ext}" for ext in (".csv", ".vot", ".fits", ".ecsv")]
    sky.select(None)
    assert sky.table.download.filename == f"{sky.shown}_in_view.csv"


HOSTILE = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "bell\x07esc\x1b[31mdel\x7f\x01",
           "tab\tinside", "x" * 10_000, "naïve 漢字 😀"]


@pytest.fixture
def hostile_sky(tmp_path):
    n = len(HOSTILE)
    pq.write_table(pa.table({"INDEX": pa.array(range(1, n + 1), pa.int64()), "RA": np.linspace(10, 60, n), "DEC": np.linspace(-30, 30, n),
                             "REDSHIFT": np.full(n, -1.0), "NAME": HOSTILE, "=cmd|' /C calc'!A0": HOSTILE, "GLON_deg": np.arange(n) * 1.5}),
                   tmp_path / "names.parquet")
    config = tmp_path / "viewer.toml"
    config.write_text('[policy]\nname = "AgeBased"\n\n[data]\nfolders = ["."]\n\n[catalogs.NAMES]\nfiles = "names.parquet"\n'
                      'columns = { id = "INDEX", ra = "RA", dec = "DEC", z = "REDSHIFT", name = "NAME" }\nmissing = { z = -1 }\n'
                      'extra = ["=cmd|\' /C calc\'!A0", "GLON_deg"]\n\n[viewer]\ncatalog = "NAMES"\n')
    return SkyMap(runtime=ViewerRuntime(load_config(config), sample_every=60), served=False)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_hostile_cells_read_back_as_the_same_text(hostile_sky, fmt):
    table = listed_table(hostile_sky.table)
    back = read_back(table, fmt)
    if fmt == "VOTable":  # a column name that is no XML ID is kept as the FIELD's name
        back = Table.read(write(table, fmt), format="votable", use_names_over_ids=True)
    hostile_name = "_cmd____C_calc__A0" if fmt == "FITS" else "=cmd|' /C calc'!A0"  # FITS: letters, digits, _ and -
    assert back.colnames == ["NAME", "INDEX", "RA", "DEC", "REDSHIFT", hostile_name, "GLON_deg"]
    order = np.argsort(np.asarray(back["INDEX"]))
    # formula starts, control characters, 10 kB and non-ASCII text: exactly, as text (no CSV-style ' in front)
    assert [text(back["NAME"])[i] for i in order] == HOSTILE
    assert [text(back[hostile_name])[i] for i in order] == HOSTILE
    assert np.isnan(np.asarray(back["REDSHIFT"], dtype=float)).all()  # PSZ2-style -1 read as missing, written as NaN
    assert back["GLON_deg"].unit == "deg" and back["RA"].unit == "deg"


def test_what_each_format_cannot_keep_is_what_the_module_says():
    cells = ["nul\x00after", "  spaced  ", "cr\rlf\n", ""]
    rows = pd.DataFrame({"name": pd.array(cells, dtype="str"), "id": np.arange(4)})
    table = astropy_table(rows, {}, {"catalog": "=x\x01é"})
    listed = {fmt: text(read_back(table, fmt)["name"]) for fmt in FORMATS}
    assert listed["VOTable"] == ["nul", "  spaced  ", "cr\rlf\n", ""]
    assert listed["FITS"] == ["nul\x00after", "  spaced", "cr\rlf", ""]
    assert listed["ECSV"] == ["nul\x00after", "spaced", "cr\nlf\n", ""]
    assert np.ma.getmaskarray(read_back(table, "ECSV")["name"]).tolist() == [False, False, False, True]  # empty: missing
    # meta a format cannot hold as it is is escaped, never dropped or raw
    assert meta_of(write(table, "FITS"), "FITS")["catalog"] == "=x\\x01\\xe9"
    assert meta_of(write(table, "VOTable"), "VOTable")["catalog"] == "=x\\x01é"
    assert meta_of(write(table, "ECSV"), "ECSV")["catalog"] == "=x\x01é"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_the_finder_comparison_table_reads_back_with_both_catalogs_ids_and_units(viewer_data, fmt):
    comparison = FinderComparison(runtime=ViewerRuntime(load_config(make_config(viewer_data)), sample_every=60),
                                  catalog_a="PZWAV", catalog_b="AMICO")
    classes = comparison.result().classes()
    back = read_back(comparison_table(comparison), fmt)
    assert back.colnames == ["match", "RIGHT_ASCENSION_CLUSTER", "DECLINATION_CLUSTER", "Z_CLUSTER", "SNR_CLUSTER",
                             "ID_UNIQUE_CLUSTER_PZWAV", "ID_UNIQUE_CLUSTER_AMICO", "sep_arcsec", "dz"]
    assert back["sep_arcsec"].unit == "arcsec" and back["RIGHT_ASCENSION_CLUSTER"].unit == "deg" and back["dz"].unit is None
    assert len(back) == len(classes) and text(back["match"]) == classes["match"].astype(str).tolist()
    only_b = classes["match"].astype(str).to_numpy() == "only B"
    assert np.asarray(back["ID_UNIQUE_CLUSTER_AMICO"])[only_b].tolist() == classes["id_b"][only_b].tolist()
    assert np.ma.getmaskarray(back["ID_UNIQUE_CLUSTER_PZWAV"])[only_b].all()  # no A cluster: missing, not -1
    comparison.match_class = "only A"
    meta = meta_of(write(comparison_table(comparison), fmt), fmt)
    assert meta[{"FITS": "matches"}.get(fmt, "match_class")] == "only A" and meta[{"FITS": "catalogb"}.get(fmt, "catalog_b")] == "AMICO"
    assert len(read_back(comparison_table(comparison), fmt)) == (classes["match"] == "only A").sum()


def test_the_tables_headers_show_units():
    assert header_titles(["name", "ra", "dec", "z", "snr", "sep_arcsec", "radius_mpc"]) == {
        "ra": "ra [deg]", "dec": "dec [deg]", "sep_arcsec": "sep_arcsec [arcsec]", "radius_mpc": "radius_mpc [Mpc]"}


def test_an_unknown_format_is_named():
    with pytest.raises(ValueError, match="export format 'XLS' is not one of VOTable, FITS, ECSV"):
        write(Table({"a": [1]}), "XLS")


def test_uint64_ids_above_int64_go_to_votable_as_digits():
    ids = pd.array([2**64 - 1, 5], dtype="UInt64")
    table = astropy_table(pd.DataFrame({"id": ids}), {"id": "ID"}, {})
    assert text(read_back(table, "VOTable")["ID"]) == ["18446744073709551615", "5"]
    assert read_back(table, "FITS")["ID"].tolist() == [2**64 - 1, 5] == read_back(table, "ECSV")["ID"].tolist()
    assert io.BytesIO(write(table, "FITS").getvalue()).read(6) == b"SIMPLE"


@pytest.mark.parametrize("cls", [ExportButtons, SampSender], ids=lambda c: c.__name__)
def test_every_parameter_has_doc_and_limits(cls):
    own = {name: p for name, p in cls.param.objects("existing").items() if p.owner.__module__.startswith("vizcache")}
    assert own
    for name, p in own.items():
        assert p.doc and len(p.doc) > 10, f"{cls.__name__}.{name} has no doc"
        if isinstance(p, param.Number):
            assert p.bounds is not None and p.bounds[0] is not None, f"{cls.__name__}.{name} has no lower bound"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_view_with_no_rows_exports_the_columns_and_no_row(sky, fmt):
    sky.set_view_ranges((300.0, 301.0), (80.0, 81.0))  # no cluster there
    back = read_back(listed_table(sky.table), fmt)
    assert len(back) == 0 and back.colnames == [SOURCE.get(c, c) for c in sky.table.listed().columns]


def test_no_export_is_offered_while_no_catalog_is_loaded(viewer_data):
    # A catalog that failed to load left the VOTable, FITS, ECSV and SAMP buttons on, over no table.
    sky = SkyMap(runtime=ViewerRuntime(load_config(make_config(viewer_data, "exports-broken.toml")), sample_every=60), served=False,
                 catalog="BROKEN")
    table = sky.table
    buttons = [table.download, *table.exports.buttons, table.samp.button]
    assert [b.label for b in buttons[1:-1]] == list(FORMATS) and all(b.disabled for b in buttons)
    sky.catalog = "BOTH"
    assert not any(b.disabled for b in buttons)
