"""Cross-matching two cluster catalogs: the generated PZWAV and AMICO carry the true pairs (cross_id)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vizcache.catalogs.crossmatch import MATCHED, ONLY_A, ONLY_B, crossmatch
from vizcache.catalogs.schema import EUCLID_COLUMNS

CANONICAL = {source: canonical for canonical, source in EUCLID_COLUMNS["clusters"].items()}


def read(small_set, name):
    return pd.read_parquet(Path(small_set.out_dir) / f"{name}.parquet").rename(columns=CANONICAL)


def test_matches_recover_the_true_pairs(small_set):
    a, b = read(small_set, "pzwav"), read(small_set, "amico")
    match = crossmatch(a, b, radius_arcsec=180, dz=0.15)
    truth = a["cross_id"].to_numpy()
    found = np.where(match.a_to_b >= 0, b["id"].to_numpy()[np.maximum(match.a_to_b, 0)], np.nan)
    agree = (truth == found) | (np.isnan(truth) & np.isnan(found))
    assert agree.mean() > 0.99
    counts = match.counts
    assert counts[MATCHED] + counts[ONLY_A] == len(a) and counts[MATCHED] + counts[ONLY_B] == len(b)
    # one-to-one, both ways
    assert (match.b_to_a[match.a_to_b[match.a_to_b >= 0]] == np.flatnonzero(match.a_to_b >= 0)).all()
    assert (match.separation_arcsec <= 180).all()


def test_radius_and_dz_are_honoured():
    a = pd.DataFrame({"id": [1, 2, 3], "ra": [10.0, 20.0, 30.0], "dec": [0.0, 0.0, 0.0], "z": [0.5, 0.5, np.nan]})
    # 1: 30" away, same z; 2: 30" away but Δz = 0.3; 3: unknown z, 30" away
    b = pd.DataFrame({"id": [11, 12, 13], "ra": [10.0, 20.0, 30.0], "dec": [30 / 3600, 30 / 3600, 30 / 3600], "z": [0.52, 0.8, 0.4]})
    match = crossmatch(a, b, radius_arcsec=60, dz=0.05)
    assert match.a_to_b.tolist() == [0, -1, 2]
    assert match.separation_arcsec == pytest.approx([30, 30], abs=0.01)
    assert crossmatch(a, b, radius_arcsec=20, dz=1).counts == {MATCHED: 0, ONLY_A: 3, ONLY_B: 3}
    table = match.classes()
    assert table["match"].value_counts().to_dict() == {MATCHED: 2, ONLY_A: 1, ONLY_B: 1}
    assert table.loc[table["match"] == ONLY_B, "id_b"].tolist() == [12]


def test_each_cluster_matched_once_closest_first():
    a = pd.DataFrame({"id": [1, 2], "ra": [10.0, 10.0], "dec": [0.0, 20 / 3600]})
    b = pd.DataFrame({"id": [11], "ra": [10.0], "dec": [25 / 3600]})
    match = crossmatch(a, b, radius_arcsec=60)
    assert match.a_to_b.tolist() == [-1, 0]


def test_rates_count_each_side_in_its_bins():
    a = pd.DataFrame({"id": [1, 2, 3, 4], "ra": [1.0, 2.0, 3.0, 4.0], "dec": [0.0] * 4, "z": [0.2, 0.3, 0.7, 0.8]})
    b = pd.DataFrame({"id": [11, 12], "ra": [1.0, 3.0], "dec": [0.0, 0.0], "z": [0.2, 0.7]})
    rates = crossmatch(a, b, radius_arcsec=10, dz=0.05).rates("z", np.array([0.0, 0.5, 1.0])).set_index(["rate", "lo"])
    assert rates.loc[("completeness", 0.0), "value"] == 1.0 and rates.loc[("completeness", 0.5), "value"] == 1.0
    assert rates.loc[("purity", 0.0), "value"] == 0.5 and rates.loc[("purity", 0.5), "n"] == 2
    assert rates.loc[("purity", 0.0), "low"] < 0.5 < rates.loc[("purity", 0.0), "high"]


def test_bad_parameters_are_one_clear_error():
    a = pd.DataFrame({"ra": [1.0], "dec": [0.0]})
    with pytest.raises(ValueError, match="radius_arcsec"):
        crossmatch(a, a, radius_arcsec=0)


def test_a_radius_in_mpc_is_each_clusters_own_angle_at_its_redshift():
    from astropy.cosmology import Planck18

    # 1 proper Mpc is ~ 131" at z = 0.5 and ~ 269" at z = 0.2 (Planck18): B sits 200" east of each A.
    at = {z: float(np.degrees(1.0 / Planck18.angular_diameter_distance(z).to_value("Mpc")) * 3600) for z in (0.2, 0.5)}
    assert at[0.5] < 200 < at[0.2]
    a = pd.DataFrame({"ra": [10.0, 20.0, 30.0], "dec": [0.0, 0.0, 0.0], "z": [0.2, 0.5, np.nan]})
    b = pd.DataFrame({"ra": a["ra"] + 200 / 3600, "dec": [0.0, 0.0, 0.0], "z": [0.2, 0.5, 0.3]})
    match = crossmatch(a, b, radius_arcsec=250.0, radius_mpc=1.0)
    # z = 0.2: 200" < 269" matches; z = 0.5: 200" > 131" does not; no z: the arcsec radius, 250", matches
    assert sorted(map(tuple, match.pairs.tolist())) == [(0, 0), (2, 2)]
    assert match.radius_mpc == 1.0
    assert len(crossmatch(a, b, radius_arcsec=250.0).pairs) == 3  # in arcsec alone: all three


def test_both_ways_keeps_a_pair_only_when_each_is_the_others_closest():
    # A0 and A1 both have B0 as their closest; B0's closest is A1. B1 is A0's second choice and A0 is B1's only one.
    a = pd.DataFrame({"ra": [10.0, 10.0 + 30 / 3600], "dec": [0.0, 0.0]})
    b = pd.DataFrame({"ra": [10.0 + 40 / 3600, 10.0 - 50 / 3600], "dec": [0.0, 0.0]})
    greedy = crossmatch(a, b, radius_arcsec=120.0)
    mutual = crossmatch(a, b, radius_arcsec=120.0, both_ways=True)
    # closest first: A1-B0 (10"), then A0-B1 (50"); both ways: A0's closest is B0 (40"), taken by A1: A0 unmatched
    assert sorted(map(tuple, greedy.pairs.tolist())) == [(0, 1), (1, 0)]
    assert mutual.pairs.tolist() == [[1, 0]] and mutual.a_to_b.tolist() == [-1, 0] and mutual.b_to_a.tolist() == [1, -1]
    assert mutual.counts == {MATCHED: 1, ONLY_A: 1, ONLY_B: 1}


@pytest.mark.parametrize("kwargs", [{"radius_mpc": 0.0}, {"radius_mpc": -1.0}, {"radius_mpc": float("nan")}])
def test_a_bad_mpc_radius_is_one_clear_error(kwargs):
    a = pd.DataFrame({"ra": [1.0], "dec": [0.0]})
    with pytest.raises(ValueError, match="radius_mpc must be > 0"):
        crossmatch(a, a, **kwargs)
