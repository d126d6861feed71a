"""Hostile find-box input: one short message naming what is wrong, the previous answer cleared, no exception."""

import pandas as pd
import param
import pytest

from vizcache.viewer.find import SHOWN_CHARS, Finder, PositionError, parse_position

DIGITS = "9" * 5000


class MapStub(param.Parameterized):
    """What the finder uses of a sky map: the catalog shown (a parameter it watches), its projection, and where it was moved."""

    catalog = param.String(default="PSZ2", doc="The catalog shown.")
    projection = "RA/Dec"

    def __init__(self) -> None:
        super().__init__()
        self.frame = pd.DataFrame({"id": [1, 2], "ra": [10.0, 20.0], "dec": [0.0, 5.0], "name": ["Abell 1", "Abell 2"]})
        self.moves = []

    def move_to(self, x_range, y_range) -> None:
        self.moves.append((x_range, y_range))


@pytest.mark.parametrize("text, names", [
    ("10 10 ...", "radius '...' is not a number"),
    ("10 10 .", "radius '.' is not a number"),
    ("10 10 1.2.3", "radius '1.2.3' is not a number"),
    (DIGITS, f"'{'9' * SHOWN_CHARS}'... (5,000 characters)"),
    (f"10 10 {DIGITS}", "(5,006 characters)"),
    (f"10 {DIGITS}", "(5,003 characters)"),
])
def test_a_bad_search_replaces_the_previous_answer_with_one_short_message(text, names):
    skymap = MapStub()
    finder = Finder(skymap=skymap)
    finder.query = "Abell 2"
    assert finder.result.startswith("1 match(es)") and len(skymap.moves) == 1
    finder.query = text  # raised in the watcher before: the answer about Abell 2 stayed
    assert names in finder.result and "Abell 2" not in finder.result
    assert "\n" not in finder.result and len(finder.result) < 400 and DIGITS not in finder.result
    assert finder._output.object.startswith("No name or id in PSZ2 matches") and len(skymap.moves) == 1  # the map stays


@pytest.mark.parametrize("radius", ["...", ".", "1.2.3", "1e", "e5", "1e+", "--5", "5..", DIGITS])
def test_a_radius_that_is_not_one_number_is_a_position_error(radius):
    with pytest.raises(PositionError, match="radius"):
        parse_position(f"10 10 {radius}")


@pytest.mark.parametrize("radius, arcmin", [(".5", 0.5), ("5.", 5.0), ("1e+1", 10.0), ("1E-1d", 6.0), ("2.5'", 2.5)])
def test_radii_written_every_usual_way_still_parse(radius, arcmin):
    assert parse_position(f"10 10 {radius}")[2] == pytest.approx(arcmin)
