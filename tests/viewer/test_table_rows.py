"""The table's order is over every row in view; ids read as ids; the CSV follows the table."""

import io

import numpy as np
import pandas as pd

from vizcache.viewer.table_rows import RowOrder, for_display, sorted_rows, table_columns


def test_sort_covers_every_row_in_view_nan_last():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"id": np.arange(300_000), "snr": rng.uniform(0, 20, 300_000).astype(np.float32)})
    frame.loc[299_999, "snr"] = 28.15  # the brightest, far beyond the first 100,000 rows
    frame.loc[5, "snr"] = np.nan
    rows = np.flatnonzero(frame["id"].to_numpy() % 2 == 1)  # a view: the odd rows
    desc = sorted_rows(frame, rows, [{"field": "snr", "dir": "desc"}])
    assert desc[0] == 299_999 and desc[-1] == 5 and len(desc) == len(rows)
    asc = sorted_rows(frame, rows, [{"field": "snr", "dir": "asc"}])
    assert np.all(np.diff(frame["snr"].to_numpy()[asc[:-1]]) >= 0) and asc[-1] == 5


def test_secondary_sort_and_text():
    frame = pd.DataFrame({"name": ["b", "a", "c", "a"], "snr": [1.0, 2.0, 3.0, 4.0]})
    rows = np.arange(4)
    assert sorted_rows(frame, rows, [{"field": "name", "dir": "asc"}, {"field": "snr", "dir": "desc"}]).tolist() == [3, 1, 0, 2]
    assert sorted_rows(frame, rows, []).tolist() == [0, 1, 2, 3]


def test_row_order_sorts_once_per_view_and_sort():
    frame = pd.DataFrame({"snr": [3.0, 1.0, 2.0]})
    order = RowOrder()
    first = order((frame, None), 1, [{"field": "snr", "dir": "asc"}])
    assert first.tolist() == [1, 2, 0]
    assert order((frame, None), 1, [{"field": "snr", "dir": "asc"}]) is first
    assert order((frame, np.array([True, False, True])), 2, None).tolist() == [0, 2]


def test_ids_without_separators_or_float_and_extra_columns_listed():
    frame = pd.DataFrame({"id": [1_000_000_001, 2], "cross_id": [2_000_000_003.0, np.nan], "ra": [1.0, 2.0], "dec": [0.0, 0.0],
                          "x_allsky": [0.0, 0.0], "GLON": [10.0, 20.0], "name": ["A", "B"]})
    assert table_columns(frame) == ["name", "id", "ra", "dec", "cross_id", "GLON"]
    shown = for_display(frame[table_columns(frame)])
    text = io.StringIO()
    shown.to_csv(text, index=False)
    assert "1000000001,1.0,0.0,2000000003,10.0" in text.getvalue() and "B,2,2.0,0.0,,20.0" in text.getvalue()


def test_csv_writes_float32_with_the_digits_float32_has():
    from vizcache.viewer.table_rows import write_csv

    values = np.array([5.033049583435059, 0.1, -1e-7, np.nan, 3.4028235e38, 123456.789], dtype=np.float32)
    buffer = io.StringIO()
    write_csv(pd.DataFrame({"z": values, "ra": np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])}), buffer)
    lines = buffer.getvalue().split("\r\n")
    assert lines[1] == "5.0330496,0.1" and lines[2] == "0.1,0.2" and lines[4] == ",0.4"  # float64 keeps its own digits
    back = pd.read_csv(io.StringIO(buffer.getvalue()), dtype={"z": np.float32})["z"].to_numpy()
    assert np.array_equal(back, values, equal_nan=True)  # every float32 read back exactly
