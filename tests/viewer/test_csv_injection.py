"""The CSV download never hands a spreadsheet a formula (OWASP "CSV injection"); numbers stay numbers."""

import csv
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vizcache.config import load_config
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap
from vizcache.viewer.table_rows import write_csv

pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest

#: one name per character a spreadsheet starts a formula with: = + - @ tab CR
HOSTILE = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1", "\r=1+1"]
PLAIN = ["PSZ2 G266.04-21.25", "Abell 3667", "-12.5", "+3e-2"]  # inner '-' and one plain number: left as they are


def written(frame: pd.DataFrame) -> list[list[str]]:
    text = io.StringIO()
    write_csv(frame, text)
    return list(csv.reader(io.StringIO(text.getvalue(), newline="")))


def test_text_cells_starting_a_formula_are_prefixed_and_numbers_are_not():
    names = HOSTILE + PLAIN
    n = len(names)
    frame = pd.DataFrame({
        "name": pd.array(names, dtype="str"),
        "id": np.array([-(2**63), -5, 2**53 + 1] + list(range(n - 3)), dtype=np.int64),
        "ra": np.linspace(-1.5, 1.5, n), "snr": np.full(n, -7.25, dtype=np.float32),
        "cross_id": pd.array([-3] + [None] * (n - 1), dtype="Int64"),
        "note": pd.array(["=1+1", None] + ["ok"] * (n - 2), dtype=object),
    })
    header, *rows = written(frame)
    assert header == ["name", "id", "ra", "snr", "cross_id", "note"]
    assert [row[0] for row in rows] == ["'" + name for name in HOSTILE] + PLAIN
    assert [row[1] for row in rows] == [str(v) for v in frame["id"]]  # negative ids stay numbers
    assert [float(row[2]) for row in rows] == frame["ra"].tolist() and rows[0][2].startswith("-")
    assert {row[3] for row in rows} == {"-7.25"} and [row[4] for row in rows] == ["-3"] + [""] * (n - 1)
    assert [row[5] for row in rows[:3]] == ["'=1+1", "", "ok"]  # missing stays missing


def test_a_column_name_starting_a_formula_is_prefixed():
    header, row = written(pd.DataFrame({"=cmd|' /C calc'!A0": ["a"], "GLON": [-1.0]}))
    assert header == ["'=cmd|' /C calc'!A0", "GLON"] and row == ["a", "-1.0"]


def test_the_sky_maps_csv_download_neutralises_names(tmp_path):
    n = len(HOSTILE)
    pq.write_table(pa.table({"ID_UNIQUE_CLUSTER": pa.array(range(1, n + 1), pa.int64()), "RA": np.linspace(10, 60, n),
                             "DEC": np.linspace(-30, 30, n), "SNR": np.full(n, 5.0), "NAME": HOSTILE}), tmp_path / "names.parquet")
    config = tmp_path / "viewer.toml"
    config.write_text('[policy]\nname = "AgeBased"\n\n[data]\nfolders = ["."]\n\n[catalogs.NAMES]\nfiles = "names.parquet"\n'
                      'columns = { id = "ID_UNIQUE_CLUSTER", ra = "RA", dec = "DEC", snr = "SNR", name = "NAME" }\n'
                      '\n[viewer]\ncatalog = "NAMES"\n')
    sky = SkyMap(runtime=ViewerRuntime(load_config(config), sample_every=60), served=False)
    rows = list(csv.DictReader(io.StringIO(sky.table.csv().getvalue(), newline="")))
    assert sorted(r["name"] for r in rows) == sorted("'" + name.strip() for name in HOSTILE)  # the reader strips spaces
    assert sorted(r["id"] for r in rows) == [str(i) for i in range(1, n + 1)]
