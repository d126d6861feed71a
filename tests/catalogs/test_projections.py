import numpy as np

from vizcache.catalogs.projections import center_ra, hammer_aitoff, inverse_hammer_aitoff, wrap_ra


def test_wrap_and_center():
    assert wrap_ra(np.array([-10.0, 370.0, 0.0])).tolist() == [350.0, 10.0, 0.0]
    assert center_ra(np.array([350.0, 10.0]), 0.0).tolist() == [-10.0, 10.0]


def test_hammer_aitoff_round_trip_and_bounds():
    rng = np.random.default_rng(1)
    ra, dec = rng.uniform(0, 360, 10_000), rng.uniform(-89, 89, 10_000)
    x, y = hammer_aitoff(ra, dec)
    assert np.abs(x).max() <= 2 * np.sqrt(2) + 1e-9 and np.abs(y).max() <= np.sqrt(2) + 1e-9
    ra2, dec2 = inverse_hammer_aitoff(x, y)
    np.testing.assert_allclose(dec2, dec, atol=1e-6)
    np.testing.assert_allclose(np.cos(np.radians(ra2 - ra)), 1.0, atol=1e-9)


def test_ra_increases_to_the_left():
    x, _ = hammer_aitoff(np.array([10.0, 20.0]), np.array([0.0, 0.0]))
    assert x[1] < x[0] < 0


def test_equal_area():
    rng = np.random.default_rng(2)
    n = 200_000
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))  # uniform on the sphere
    x, y = hammer_aitoff(ra, dec)
    # equal area: equal-size boxes near the centre and off-centre hold the same share of points
    a = ((np.abs(x) < 0.2) & (np.abs(y) < 0.2)).sum()
    b = ((np.abs(x - 1.5) < 0.2) & (np.abs(y - 0.6) < 0.2)).sum()
    assert abs(a - b) / a < 0.05
