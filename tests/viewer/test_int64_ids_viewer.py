"""64-bit ids exact in the viewer, from each file format: the table's data for the browser, the
marker hover, the CSV download and the find box. What goes to BokehJS goes as text: JavaScript's
numbers are float64, exact only up to 2**53."""

import csv
import io
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from bokeh.core.serialization import Serializer

from vizcache.config import load_config
from vizcache.viewer.find import Finder, find_rows
from vizcache.viewer.finder_comparison import FinderComparison
from vizcache.viewer.markers import hover_text
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap
from vizcache.viewer.table_rows import for_display, sorted_rows

from ..catalogs.int64_catalogs import BCG, CROSS, FORMATS, SIGNED, UNSIGNED, catalog_config, ids_for, write_catalog

pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest


def sky_map(folder, fmt, unsigned) -> SkyMap:
    write_catalog(folder, fmt, unsigned)
    config = folder / "viewer.toml"
    config.write_text('[policy]\nname = "AgeBased"\n\n[data]\nfolders = ["."]\n\n' + catalog_config(fmt) + '\n[viewer]\ncatalog = "IDS"\n')
    return SkyMap(runtime=ViewerRuntime(load_config(config), sample_every=60), served=False)


def text(values) -> list[str]:
    return ["" if v is None else str(v) for v in values]


def sent(values) -> list:
    """A column as Bokeh serializes it for the browser."""
    return Serializer().encode(list(values))


@pytest.mark.parametrize("unsigned", [False, True], ids=["int64", "uint64"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_ids_reach_table_hover_csv_and_find_exactly(tmp_path, fmt, unsigned):
    ids = ids_for(unsigned)
    sky = sky_map(tmp_path, fmt, unsigned)
    assert sky.frame["id"].tolist() == ids  # the reader's output, as the viewer holds it

    # The table: what its Bokeh source sends is text, digit for digit (a number above 2**53 would be rounded by JS).
    table = sky.table.widget.value
    assert sorted(table["id"]) == sorted(str(i) for i in ids)
    model = sky.table.widget.get_root()
    assert sorted(sent(model.source.data["id"])) == sorted(str(i) for i in ids)
    by_id = dict(zip(model.source.data["id"], zip(model.source.data["cross_id"], model.source.data["ID_BCG"])))
    assert [by_id[str(i)] for i in ids] == list(zip(text(CROSS), text(BCG)))

    # The hover of the markers (4 rows at full sky: every one a marker).
    markers = sky.map.figure.markers.data
    assert sorted(markers["object"]) == sorted(f"id {i}" for i in ids)
    more = dict(zip(markers["object"], markers["more"]))
    assert [more[f"id {i}"] for i in ids] == [f"ID_BCG = {b}; cross_id = {'unknown' if c is None else c}" for b, c in zip(BCG, CROSS)]

    # The CSV download: the same digits, read back as text.
    rows = list(csv.DictReader(io.StringIO(sky.table.csv().getvalue())))
    assert sorted(r["id"] for r in rows) == sorted(str(i) for i in ids)
    assert {r["id"]: (r["cross_id"], r["ID_BCG"]) for r in rows} == {str(i): (c, b) for i, c, b in zip(ids, text(CROSS), text(BCG))}

    # Find by id: the exact id only, not its float64 neighbour (2**53 and 2**53 + 1 are both ids here).
    finder = Finder(skymap=sky)
    for wanted in ids:
        assert find_rows(sky.frame, str(wanted))["id"].tolist() == [wanted]
        finder.query = str(wanted)
        assert finder.result.startswith("1 match(es); showing the first: id ") and finder.result.split(" (RA")[0].endswith(f"id {wanted}")
    assert find_rows(sky.frame, str(2**64)).empty and find_rows(sky.frame, "9" * 5000).empty


def test_table_sorts_64_bit_ids_exactly_missing_last():
    frame = pd.DataFrame({"id": np.array([2**53 + 1, 2**53, 2**53 + 2, 2**63 - 1], dtype=np.int64),
                          "cross_id": pd.array([2**53 + 1, None, 2**53, 2**53 + 1], dtype="Int64"),
                          "u": np.array([2**64 - 1, 2**63, 2**64 - 2, 0], dtype=np.uint64)})
    rows = np.arange(4)
    assert sorted_rows(frame, rows, [{"field": "id", "dir": "asc"}]).tolist() == [1, 0, 2, 3]
    assert sorted_rows(frame, rows, [{"field": "id", "dir": "desc"}]).tolist() == [3, 2, 0, 1]
    assert sorted_rows(frame, rows, [{"field": "u", "dir": "desc"}]).tolist() == [0, 2, 1, 3]
    # ties keep their order (the primary sort's), missing last either way
    assert sorted_rows(frame, rows, [{"field": "cross_id", "dir": "asc"}]).tolist() == [2, 0, 3, 1]
    assert sorted_rows(frame, rows, [{"field": "cross_id", "dir": "desc"}]).tolist() == [0, 3, 2, 1]
    assert sorted_rows(frame, rows, [{"field": "cross_id", "dir": "desc"}, {"field": "id", "dir": "desc"}]).tolist() == [3, 0, 2, 1]


def test_display_and_hover_write_ids_whole_and_missing_as_empty_or_unknown():
    frame = pd.DataFrame({"id": np.array([2**64 - 1], dtype=np.uint64), "ra": [1.0], "dec": [2.0],
                          "cross_id": pd.array([None], dtype="Int64"), "float_id": [2.0**60], "count": [3]})
    shown = for_display(frame)
    assert shown.loc[0, "id"] == "18446744073709551615" and shown.loc[0, "cross_id"] == ""
    assert hover_text(frame).loc[0, "more"] == f"cross_id = unknown; float_id = {2**60}; count = 3"


def test_find_names_the_exact_id_of_an_all_numeric_catalog():
    # Every column numeric: a row as one Series would be float64, and the id read back as 2**53.
    moves = []
    stub = SimpleNamespace(frame=pd.DataFrame({"id": np.array([2**53 + 1, 2**53], dtype=np.int64), "ra": [10.0, 20.0], "dec": [1.0, 2.0]}),
                           catalog="IDS", projection="RA/Dec", move_to=lambda *ranges: moves.append(ranges),
                           param=SimpleNamespace(watch=lambda *args: None))  # the finder follows catalog changes
    assert Finder(skymap=stub)._input.placeholder == f"{2**53 + 1} · 10.00 +1.00 5'"  # the example: the exact id
    finder = Finder(skymap=stub)
    finder.query = str(2**53 + 1)
    assert finder.result == f"1 match(es); showing the first: id {2**53 + 1} (RA 10.0000, Dec +1.0000)" and len(moves) == 1


def test_finder_comparison_table_sends_both_catalogs_ids_exactly(tmp_path):
    # Two catalogs of the same clusters, one of int64 ids, one of uint64 ids; one cluster only in the first.
    write_catalog(tmp_path, "parquet", unsigned=False)
    (tmp_path / "u").mkdir()
    write_catalog(tmp_path / "u", "csv", unsigned=True)
    lines = (tmp_path / "u" / "ids.csv").read_text().splitlines()
    (tmp_path / "u" / "ids.csv").write_text("\n".join(lines[:-1]) + "\n")  # without its last cluster
    config = tmp_path / "viewer.toml"
    config.write_text('[policy]\nname = "AgeBased"\n\n[data]\nfolders = ["."]\n\n' + catalog_config("parquet", "A")
                      + catalog_config("csv", "B", files="u/ids.csv"))
    view = FinderComparison(runtime=ViewerRuntime(load_config(config), sample_every=60), catalog_a="A", catalog_b="B")
    table = view._table("all", view.catalog_a, view.catalog_b, view.radius_arcsec, view.dz)
    model = table.get_root()
    pairs = sorted(zip(sent(model.source.data["id A"]), sent(model.source.data["id B"])))
    assert pairs == sorted([(str(s), str(u)) for s, u in zip(SIGNED[:3], UNSIGNED[:3])] + [(str(SIGNED[3]), "")])
