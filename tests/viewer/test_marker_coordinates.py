"""The markers' hover writes RA and Dec exactly as astropy's Angle.to_string does, faster."""

import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import Angle

from vizcache.viewer.markers import hover_text, sexagesimal

# Carries (59.995 s rounds up to the next minute and hour), signed zeros, the poles, the ends of RA.
RA_EDGES = [0.0, 1e-9, 359.9999, 359.99999999, 15 * (59 / 60 + 59.995 / 3600), 14.999979166666666, 180.0]
DEC_EDGES = [0.0, -0.0, 1e-9, -1e-9, -0.00001, 89.9999999, -90.0, 90.0, -(59 / 60 + 59.95 / 3600), 0.999986111111111]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coordinates_are_astropys_to_the_last_digit(seed):
    rng = np.random.default_rng(seed)
    ra = np.concatenate([rng.uniform(0, 360, 20_000), RA_EDGES])
    dec = np.concatenate([rng.uniform(-90, 90, 20_000), DEC_EDGES])
    assert sexagesimal(ra, "hourangle", 2, signed=False) == list(Angle(ra, "deg").to_string(unit="hourangle", sep=":", precision=2, pad=True))
    assert sexagesimal(dec, "deg", 1, signed=True) == list(Angle(dec, "deg").to_string(unit="deg", sep=":", precision=1, pad=True,
                                                                                         alwayssign=True))


def test_the_hover_names_both_forms():
    text = hover_text(pd.DataFrame({"ra": [150.0, 0.0], "dec": [-0.5, 2.25], "id": [7, 8]}))
    assert text["RA"].tolist() == ["150.00000° (10:00:00.00)", "0.00000° (00:00:00.00)"]
    assert text["Dec"].tolist() == ["-0.50000° (-00:30:00.0)", "2.25000° (+02:15:00.0)"]
    assert hover_text(pd.DataFrame({"ra": [], "dec": []}))["RA"].tolist() == []
