"""The synthetic generator: deterministic, Euclid-like, clustered, cross-matched."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from vizcache.catalogs.generate import PRESETS, Preset, _uniform_in_footprint, generate, in_footprint


def read(small_set, label):
    return pd.concat([pd.read_parquet(f) for f in small_set.files[label]], ignore_index=True)


def test_deterministic_in_seed(tmp_path, small_set):
    again = generate(tmp_path / "again", "small", seed=7)
    other = generate(tmp_path / "other", "small", seed=8)
    for label in ("pzwav", "members"):
        a = pd.read_parquet(small_set.files[label][0])  # pandas' equals treats NaN == NaN
        assert a.equals(pd.read_parquet(again.files[label][0]))
        assert not a.equals(pd.read_parquet(other.files[label][0]))


def test_footprint_redshift_and_columns(small_set):
    both = read(small_set, "both")
    assert list(both.columns) == ["ID_UNIQUE_CLUSTER", "RIGHT_ASCENSION_CLUSTER", "DECLINATION_CLUSTER", "Z_CLUSTER",
                                  "Z_ERR_CLUSTER", "SNR_CLUSTER", "RICHNESS_CLUSTER", "RADIUS_CLUSTER", "DET_CODE_NB", "CROSS_ID_CLUSTER"]
    inside = in_footprint(both["RIGHT_ASCENSION_CLUSTER"].to_numpy(), both["DECLINATION_CLUSTER"].to_numpy())
    assert inside.mean() > 0.97  # only position scatter at patch edges leaves the footprint
    z = both["Z_CLUSTER"]
    assert z.min() > 0 and z.max() < 2.5 and 0.6 < z.median() < 1.4
    assert both["RICHNESS_CLUSTER"].skew() > 1  # skewed, long tails
    for code in (1, 2):
        assert both.loc[both["DET_CODE_NB"] == code, "SNR_CLUSTER"].skew() > 0.5


def test_clustered_like_large_scale_structure_not_uniform(small_set):
    both = read(small_set, "both")
    rng = np.random.default_rng(0)
    ura, udec = _uniform_in_footprint(rng, len(both))

    def median_nn(ra, dec):
        xyz = np.c_[np.cos(np.radians(dec)) * np.cos(np.radians(ra)), np.cos(np.radians(dec)) * np.sin(np.radians(ra)), np.sin(np.radians(dec))]
        sample = xyz[:500]
        d = np.linalg.norm(sample[:, None, :] - xyz[None, :, :], axis=2)
        d[d == 0] = np.inf
        return np.median(d.min(axis=1))

    assert median_nn(both["RIGHT_ASCENSION_CLUSTER"].to_numpy(), both["DECLINATION_CLUSTER"].to_numpy()) < 0.7 * median_nn(ura, udec)


def test_codes_detect_overlapping_different_sets_and_cross_ids_agree(small_set):
    amico, pzwav, both = read(small_set, "amico"), read(small_set, "pzwav"), read(small_set, "both")
    matched_a = amico.dropna(subset=["CROSS_ID_CLUSTER"])
    assert 0.3 < len(matched_a) / len(amico) < 0.95  # overlapping, not identical
    back = pzwav.set_index("ID_UNIQUE_CLUSTER").loc[matched_a["CROSS_ID_CLUSTER"].astype(np.int64), "CROSS_ID_CLUSTER"]
    assert (back.to_numpy().astype(np.int64) == matched_a["ID_UNIQUE_CLUSTER"].to_numpy()).all()
    assert set(amico["DET_CODE_NB"]) == {1} and set(pzwav["DET_CODE_NB"]) == {2}
    assert len(both) == len(amico) + pzwav["CROSS_ID_CLUSTER"].isna().sum()
    # SNR means something different for each code
    assert abs(np.log(amico["SNR_CLUSTER"].median() / pzwav["SNR_CLUSTER"].median())) > 0.1


def test_detection_rate_falls_with_redshift(small_set):
    amico = read(small_set, "amico")
    hist_det, edges = np.histogram(amico["Z_CLUSTER"], bins=[0.1, 0.6, 1.2, 2.0])
    assert hist_det[0] / (edges[1] - edges[0]) > hist_det[2] / (edges[3] - edges[2])


def test_members_scale_with_richness_and_sit_near_their_cluster(small_set):
    both = read(small_set, "both").set_index("ID_UNIQUE_CLUSTER")
    members = read(small_set, "members")
    assert set(members.columns) == {"ID_UNIQUE_CLUSTER", "RIGHT_ASCENSION_GALAXY", "DECLINATION_GALAXY", "Z_PHOT_GALAXY", "PMEM"}
    counts = members.groupby("ID_UNIQUE_CLUSTER").size().reindex(both.index, fill_value=0)
    assert np.corrcoef(counts, both["RICHNESS_CLUSTER"])[0, 1] > 0.5
    host = both.loc[members["ID_UNIQUE_CLUSTER"]]
    sep = np.abs(members["DECLINATION_GALAXY"].to_numpy() - host["DECLINATION_CLUSTER"].to_numpy())
    assert (sep <= host["RADIUS_CLUSTER"].to_numpy() + 1e-6).all()
    assert members["PMEM"].between(0, 1).all()


def test_members_split_over_files_with_row_groups(tmp_path):
    spec = Preset(true_clusters=2000, members_per_richness=1.0, rows_per_file=8000, row_group_rows=2000)
    result = generate(tmp_path, spec, seed=1)
    assert len(result.files["members"]) >= 3
    meta = pq.ParquetFile(result.files["members"][0]).metadata
    assert meta.num_row_groups >= 2 and meta.num_rows <= 8000 + 500
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in result.files["members"]) == result.rows["members"]


def test_presets_are_sized_as_documented():
    # default: ~10M rows in all (measured: 11.1M); large: >= 100M member rows
    assert PRESETS["default"].true_clusters * 0.8 * 28 * PRESETS["default"].members_per_richness > 8e6
    assert PRESETS["large"].true_clusters * 0.8 * 28 * PRESETS["large"].members_per_richness > 100e6


def test_progress_is_reported(tmp_path):
    seen = []
    generate(tmp_path, "small", progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
