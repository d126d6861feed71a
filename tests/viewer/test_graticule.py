"""Coordinate lines: the Galactic plane and the all-sky graticule, in each projection's coordinates."""

import numpy as np
import pytest

from vizcache.catalogs.projections import inverse_hammer_aitoff
from vizcache.viewer.graticule import galactic_plane, graticule, sky_lines


def test_galactic_plane_passes_the_galactic_centre_in_both_projections():
    radec = np.concatenate(galactic_plane("RA/Dec"))
    # The Galactic centre: RA 266.40, Dec -28.94
    near = np.abs(radec[:, 0] - 266.40) < 0.5
    assert np.interp(266.40, radec[near, 0], radec[near, 1]) == pytest.approx(-28.94, abs=0.1)
    assert np.all(np.diff(radec[:, 0]) >= 0)  # one left-to-right line, no wrap-around stroke
    xy = np.concatenate(galactic_plane("all-sky"))
    ra, dec = inverse_hammer_aitoff(xy[:, 0], xy[:, 1])
    assert np.min(np.hypot(ra - 266.40, dec + 28.94)) < 0.5


def test_graticule_only_on_the_all_sky_map_and_inside_its_ellipse():
    assert graticule("RA/Dec") == []
    lines = graticule("all-sky")
    xy = np.concatenate(lines)
    assert np.all((xy[:, 0] / (2 * np.sqrt(2))) ** 2 + (xy[:, 1] / np.sqrt(2)) ** 2 <= 1 + 1e-9)
    assert all(np.max(np.abs(np.diff(line[:, 0]))) < 1.0 for line in lines)  # no stroke across the map
    for projection, grid_lines in (("RA/Dec", 0), ("all-sky", len(lines))):
        drawn = sky_lines(projection)
        assert len(drawn["grid"]["xs"]) == grid_lines and drawn["plane"]["xs"] and drawn["band"]["xs"]
        for line in drawn.values():
            assert [len(x) for x in line["xs"]] == [len(y) for y in line["ys"]]
