"""The cache monitor's words: keys by name, sizes from the rows in memory, hits summarised."""

import numpy as np
import pandas as pd

from vizcache.viewer.monitor import data_bytes, readable_key


def test_keys_read_as_catalog_and_partition_names():
    assert readable_key(("BOTH", "e1ffdf3a7767")) == "BOTH"
    assert readable_key(str(("BOTH", "e1ffdf3a7767"))) == "BOTH"  # the event log holds str(key)
    assert readable_key(str(("MEMBERS_HATS", "v3", "Norder=5/Npix=1234"))) == "MEMBERS_HATS Norder=5/Npix=1234"
    assert readable_key("") == "" and readable_key("sized entry") == "sized entry"
    assert readable_key("(not python") == "(not python"


def test_data_size_counts_the_rows_in_memory_strings_included():
    frame = pd.DataFrame({"ra": np.zeros(1000), "name": ["PSZ2 G266.04-21.25"] * 1000})

    class Catalog:
        data = frame

    assert data_bytes(Catalog()) == data_bytes(frame) > 1000 * 8 + 1000 * len("PSZ2 G266.04-21.25")
    assert data_bytes(object()) is None  # not in memory (a Dask catalog): no size, not 0
