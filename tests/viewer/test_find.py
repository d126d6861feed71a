"""Finding objects: positions in degrees or sexagesimal with a radius, names and ids."""

import pandas as pd
import pytest

from vizcache.viewer.find import DEFAULT_RADIUS_ARCMIN, PositionError, find_rows, parse_position, view_box


@pytest.mark.parametrize("text, expected", [
    ("180.5 -12.3", (180.5, -12.3, DEFAULT_RADIUS_ARCMIN)),
    ("180.5, -12.3, 5", (180.5, -12.3, 5.0)),
    ("12:02:00 -12:18:00", (180.5, -12.3, DEFAULT_RADIUS_ARCMIN)),
    ("12h02m00s -12d18m00s 30\"", (180.5, -12.3, 0.5)),
    ("12 02 00 -12 18 00 0.5d", (180.5, -12.3, 30.0)),
    ("06:58:31.1 -55:56:49 2arcmin", (104.62958, -55.94694, 2.0)),
    ("104.6298 -55.9469 3'", (104.6298, -55.9469, 3.0)),
])
def test_positions_parse(text, expected):
    ra, dec, radius = parse_position(text)
    assert (ra, dec, radius) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("text", ["Bullet", "180.5", "180 95", "12:02 -12:18 lots", "10 10 0"])
def test_non_positions_say_what_is_allowed(text):
    with pytest.raises(PositionError, match="RA Dec in degrees|radius|is not a position"):
        parse_position(text)


def test_find_by_name_ignores_case_and_spaces_exact_first():
    frame = pd.DataFrame({"id": [1, 2, 3], "ra": [1.0, 2.0, 3.0], "dec": [0.0] * 3,
                          "name": ["PSZ2 G266.04-21.25x", "PSZ2 G266.04-21.25", "PSZ2 G000.13+78.04"]})
    found = find_rows(frame, "psz2 g266.04-21.25")
    assert found["id"].tolist() == [2, 1]
    assert find_rows(frame, "3")["id"].tolist() == [3]
    assert find_rows(frame, "nothing").empty


def test_view_box_runs_ra_backwards_and_widens_with_declination():
    (x0, x1), (y0, y1) = view_box(104.63, -55.95, 0.1, "RA/Dec")
    assert x0 > x1 and y0 < y1
    assert (x0 - x1) / (y1 - y0) == pytest.approx(1 / 0.5601, rel=1e-2)  # 1 / cos(-55.95°)


def test_the_example_in_the_find_box_finds_something_in_the_catalog_shown(viewer_data):
    from vizcache.config import load_config
    from vizcache.viewer.find import Finder
    from vizcache.viewer.runtime import ViewerRuntime
    from vizcache.viewer.skymap import SkyMap

    from .conftest import make_config

    sky = SkyMap(runtime=ViewerRuntime(load_config(make_config(viewer_data, "find-example.toml")), sample_every=60), served=False)
    finder = Finder(skymap=sky)
    for catalog in ("BOTH", "AMICO", "MEMBERS"):
        sky.catalog = catalog
        examples = finder._input.placeholder.split(" · ")
        assert len(examples) == (1 if catalog == "MEMBERS" else 2)  # members have no name or id of their own: a position
        for example in examples:
            finder.query = example
            assert "match" in finder.result or finder.result.startswith("Showing RA"), (catalog, example, finder.result)
        finder.query = "no such cluster"
        assert finder.result.startswith("No ")
        sky.catalog = "PZWAV"
        assert finder.result == ""  # the last catalog's "no match" does not stay
