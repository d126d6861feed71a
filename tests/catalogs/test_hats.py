"""HATS catalogs: written by `vizcache partition` (hats-import), read from metadata, by partition,
selected by view (across RA 0/360 and at the poles), and loaded through the cache."""

import json
import shutil

import astropy.units as u
import hats
import numpy as np
import pandas as pd
import pytest
from cdshealpix.nested import healpix_to_lonlat, lonlat_to_healpix

from vizcache import AgeBased, Cache
from vizcache.catalogs.hats import HatsCatalog
from vizcache.catalogs.partition import PartitionSettings, partition_catalog
from vizcache.catalogs.readers import CatalogError
from vizcache.catalogs.sky_boxes import (
    box_from_allsky,
    normalise_box,
    partitions_in_view,
)
from vizcache.catalogs.source import CatalogSource
from vizcache.cli import main
from vizcache.config import load_config
from vizcache.viewer.partitions import PartitionLoader

from .conftest import write_config

SMALL = PartitionSettings(max_rows=4_000, highest_order=7, workers=1, threads=1)


def no_dask_client_left():
    from distributed.client import _global_clients

    return not _global_clients


@pytest.fixture(scope="module")
def hats_dir(small_set, tmp_path_factory):
    """The small preset's members, partitioned once through the CLI."""
    folder = tmp_path_factory.mktemp("hats")
    shutil.copytree(f"{small_set.out_dir}/members", folder / "data" / "members")
    config = write_config(folder / "c.toml", '[catalogs.MEMBERS]\nfiles = "data/members/*.parquet"\nkind = "members"\n')
    assert main(["partition", str(config), "MEMBERS", "--out", str(folder / "members_hats"), "--max-rows", "4000",
                 "--highest-order", "7", "--threads", "1"]) == 0
    assert no_dask_client_left()  # the local cluster is closed after the run
    return folder


def hats_source(folder, name="MH", extra=""):
    config = write_config(folder / "h.toml", f'[catalogs.{name}]\nfiles = "members_hats"\nformat = "hats"\nkind = "members"\n{extra}')
    return CatalogSource(load_config(config).catalogs[name])


def test_round_trip_same_rows(hats_dir, small_set):
    catalog = hats.read_hats(hats_dir / "members_hats")
    assert catalog.catalog_info.total_rows == small_set.rows["members"]
    pixels = catalog.get_healpix_pixels()
    assert len(pixels) > 10 and len({p.order for p in pixels}) > 1  # adaptive: several orders
    read = sum(len(catalog.read_pixel_to_pandas(p)) for p in pixels)
    assert read == small_set.rows["members"]
    assert not any(p.name.startswith(".") for p in hats_dir.iterdir())  # no temporary folder left behind


def test_format_detected_without_saying_it(hats_dir):
    config = write_config(hats_dir / "d.toml", '[catalogs.MH]\nfiles = "members_hats"\nkind = "members"\n')
    assert CatalogSource(load_config(config).catalogs["MH"]).is_hats()


def test_catalog_info_reads_no_data_file(hats_dir, small_set, tmp_path, capsys):
    # A copy whose data files are all emptied: catalog-info must still know everything.
    shutil.copytree(hats_dir / "members_hats", tmp_path / "members_hats")
    for part in (tmp_path / "members_hats" / "dataset").rglob("Npix=*.parquet"):
        part.write_bytes(b"")
    config = write_config(tmp_path / "h.toml", '[catalogs.MH]\nfiles = "members_hats"\nformat = "hats"\nkind = "members"\n')
    assert main(["catalog-info", str(config), "MH", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    catalog = hats.read_hats(hats_dir / "members_hats")
    assert info["rows"] == small_set.rows["members"] and info["backend"] == "hats"
    assert info["partitions"] == len(catalog.get_healpix_pixels())
    assert sum(info["healpix_orders"].values()) == info["partitions"]
    assert info["rows_per_partition"]["max"] <= 4000
    assert 0 < info["occupied_sky_fraction"] < info["sky_fraction"] < 1
    assert info["ra_extent"][0] > info["ra_extent"][1]  # the equatorial patch runs across RA 0
    assert info["columns"]["ra"]["source"] == "RIGHT_ASCENSION_GALAXY"
    assert main(["catalog-info", str(config), "MH"]) == 0
    text = capsys.readouterr().out
    assert f"{small_set.rows['members']:,} rows in {info['partitions']} partitions" in text and "crosses RA 0" in text


def test_partition_rows_and_density_come_from_the_skymap(hats_dir, small_set):
    hc = hats_source(hats_dir).open_hats()
    rows = hc.partition_rows()
    for pixel in hc.partitions[:5]:
        assert rows[pixel] == len(hc.load_partition(pixel))  # canonical frames, rows as the skymap says
    assert sum(rows.values()) == small_set.rows["members"]
    overview = hats_source(hats_dir).load()
    assert overview.backend == "hats" and overview.data["rows"].sum() == small_set.rows["members"]
    assert {"ra", "dec", "density", "x_allsky", "y_allsky"} <= set(overview.data.columns)


def test_partition_in_canonical_columns_with_a_survey_mapping(tmp_path):
    rng = np.random.default_rng(3)
    n = 3000
    pd.DataFrame({"OBJ": np.arange(n), "RA_DEG": rng.uniform(0, 360, n), "DEC_DEG": rng.uniform(-80, 80, n),
                  "REDSHIFT": np.where(np.arange(n) % 10 == 0, -1.0, rng.uniform(0.1, 1, n))}).to_csv(tmp_path / "t.csv", index=False)
    columns = 'columns = { id = "OBJ", ra = "RA_DEG", dec = "DEC_DEG", z = "REDSHIFT" }\nmissing = { z = -1 }\n'
    config = write_config(tmp_path / "c.toml", f'[catalogs.T]\nfiles = "t.csv"\n{columns}[catalogs.TH]\nfiles = "th"\nformat = "hats"\n{columns}')
    cfg = load_config(config)
    partition_catalog(cfg.catalogs["T"], tmp_path / "th", PartitionSettings(max_rows=500, highest_order=6, threads=1), progress=False)
    assert no_dask_client_left()
    hc = CatalogSource(cfg.catalogs["TH"]).open_hats()
    frame = pd.concat([hc.load_partition(p) for p in hc.partitions])
    assert len(frame) == n and frame["z"].isna().sum() == n // 10  # the sentinel is read as missing
    assert list(frame.columns[:4]) == ["id", "ra", "dec", "z"] and frame["id"].dtype == np.int64


# -- bad input: one clear error each ---------------------------------------------------


def test_not_a_hats_directory(tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "x.txt").write_text("hello")
    config = write_config(tmp_path / "c.toml", '[catalogs.X]\nfiles = "plain"\nformat = "hats"\n')
    with pytest.raises(CatalogError, match=r"plain is not a readable HATS catalog"):
        CatalogSource(load_config(config).catalogs["X"]).load()


def test_missing_mapped_column(hats_dir):
    with pytest.raises(CatalogError, match=r"no column\(s\) PHOTO_Z.*its columns: .*RIGHT_ASCENSION_GALAXY"):
        hats_source(hats_dir, "BAD", 'columns = { ra = "RIGHT_ASCENSION_GALAXY", dec = "DECLINATION_GALAXY", z_phot = "PHOTO_Z" }\n').load()


def test_dask_backend_with_hats_is_refused(hats_dir):
    with pytest.raises(CatalogError, match=r"backend = 'dask' is not allowed with format = 'hats'"):
        hats_source(hats_dir, "D", 'backend = "dask"\n').load()


def test_truncated_partition_names_the_file(hats_dir, tmp_path):
    shutil.copytree(hats_dir / "members_hats", tmp_path / "members_hats")
    hc = hats_source(tmp_path).open_hats()
    path = hc.partition_file(hc.partitions[0])
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CatalogError, match=rf"{path}: not a readable HATS partition"):
        hc.load_partition(hc.partitions[0])


def test_partition_refuses_a_non_empty_out_and_an_unreachable_scheduler(hats_dir, tmp_path, capsys):
    config = str(hats_dir / "c.toml")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    assert main(["partition", config, "MEMBERS", "--out", str(tmp_path / "out")]) == 2
    assert "not empty" in capsys.readouterr().err and (tmp_path / "out" / "keep.txt").exists()
    assert main(["partition", config, "MEMBERS", "--out", str(tmp_path / "o2"), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "cannot reach the Dask scheduler 'tcp://127.0.0.1:9'" in capsys.readouterr().err
    assert main(["partition", config, "NOPE", "--out", str(tmp_path / "o3")]) == 2
    assert "no catalog 'NOPE'" in capsys.readouterr().err


# -- selection for a view ----------------------------------------------------------------


@pytest.fixture(scope="module")
def allsky(tmp_path_factory):
    """Uniform points over the whole sky (poles included), in many partitions of several orders."""
    folder = tmp_path_factory.mktemp("allsky")
    rng = np.random.default_rng(11)
    n = 60_000
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    dense = rng.uniform(0, 1, n) < 0.3  # a dense spot across RA 0: deeper partitions there
    ra[dense] = rng.normal(0, 3, dense.sum()) % 360
    dec[dense] = rng.normal(0, 3, dense.sum())
    pd.DataFrame({"RA": ra, "DEC": dec}).to_parquet(folder / "sky.parquet")
    config = write_config(folder / "c.toml", '[catalogs.S]\nfiles = "sky.parquet"\ncolumns = { ra = "RA", dec = "DEC" }\n'
                                             '[catalogs.SH]\nfiles = "sh"\nformat = "hats"\ncolumns = { ra = "RA", dec = "DEC" }\n')
    cfg = load_config(config)
    partition_catalog(cfg.catalogs["S"], folder / "sh", PartitionSettings(max_rows=1500, highest_order=6, threads=1), progress=False)
    return CatalogSource(cfg.catalogs["SH"]).open_hats()


def brute_force(catalog, ra_range, dec_range, steps=400):
    """Partitions holding a point of a dense grid inside the box; and every partition's sample points."""
    pieces = normalise_box(ra_range, dec_range)
    needed = set()
    for lo, hi, d0, d1 in pieces:
        ra, dec = (a.ravel() for a in np.meshgrid(np.linspace(lo, hi, steps), np.linspace(d0, d1, steps)))
        for p in catalog.partitions:
            cells = lonlat_to_healpix(ra * u.deg, dec * u.deg, p.order)
            if np.any(cells == p.pixel):
                needed.add(p)
    return needed


def partition_touches(pixel, pieces, margin=0.5):
    """Whether any sample point of the partition (its sub-pixel centres) lies within the box + margin."""
    depth = min(pixel.order + 5, 29)
    sub = np.arange(pixel.pixel * 4 ** (depth - pixel.order), (pixel.pixel + 1) * 4 ** (depth - pixel.order), dtype=np.uint64)
    lon, lat = healpix_to_lonlat(sub, depth)
    ra, dec = lon.deg, lat.deg
    for lo, hi, d0, d1 in pieces:
        in_ra = ((ra - (lo - margin)) % 360) <= (hi - lo + 2 * margin)
        if np.any(in_ra & (dec >= d0 - margin) & (dec <= d1 + margin)):
            return True
    return False


@pytest.mark.parametrize("ra_range, dec_range", [
    ((-10.0, 10.0), (-5.0, 5.0)),      # across RA 0: panned left of 0 in plot coordinates
    ((355.0, 365.0), (-2.0, 2.0)),     # ... and right of 360
    ((350.0, 10.0), (-5.0, 5.0)),      # plot ranges in either order: this is 10..350, all but the RA 0 strip
    ((0.0, 360.0), (80.0, 90.0)),      # the north polar cap
    ((100.0, 130.0), (-90.0, -75.0)),  # a box touching the south pole
    ((-200.0, 300.0), (-95.0, -80.0)), # wider than the circle, Dec beyond the pole
    ((40.0, 41.0), (30.0, 31.0)),      # a small field
])
def test_partitions_in_view_match_brute_force(allsky, ra_range, dec_range):
    selected = set(partitions_in_view(allsky, ra_range, dec_range))
    needed = brute_force(allsky, ra_range, dec_range)
    assert needed and needed <= selected  # nothing in view is missed
    pieces = normalise_box(ra_range, dec_range)
    assert all(partition_touches(p, pieces) for p in selected)  # nothing far away is read
    assert len(selected) < len(allsky.partitions)


def test_wrap_views_select_the_same_partitions(allsky):
    a = set(partitions_in_view(allsky, (-10.0, 10.0), (-5.0, 5.0)))
    assert a == set(partitions_in_view(allsky, (350.0, 370.0), (-5.0, 5.0))) == set(partitions_in_view(allsky, (10.0, -10.0), (5.0, -5.0)))
    assert not a & set(partitions_in_view(allsky, (60.0, 300.0), (-5.0, 5.0)))  # the far side of the sky shares none
    assert {p.order for p in a} != {0}  # the dense spot at RA 0 is in deeper partitions


def test_empty_views_select_nothing(allsky):
    assert partitions_in_view(allsky, (10.0, 20.0), (30.0, 30.0)) == []
    assert partitions_in_view(allsky, (10.0, 20.0), (95.0, 100.0)) == []
    assert normalise_box((5.0, 5.0), (0.0, 1.0)) == []


def test_box_from_allsky_views():
    assert box_from_allsky((-2.9, 2.9), (-1.5, 1.5)) == ((0.0, 360.0), (-90.0, 90.0))
    assert box_from_allsky((2.85, 2.9), (1.4, 1.45)) is None  # a corner outside the ellipse
    # A small field at RA 0, Dec 0 (x = 0 there): an RA range across 0 of a few degrees.
    ra_range, (d0, d1) = box_from_allsky((-0.05, 0.05), (-0.05, 0.05))
    pieces = normalise_box(ra_range, (d0, d1))
    assert [p[1] for p in pieces][0] == 360.0 and pieces[1][0] == 0.0  # split at RA 0
    assert ra_range[1] - ra_range[0] < 15 and d0 < 0 < d1 and d1 - d0 < 10
    (ra0, ra1), (d0, d1) = box_from_allsky((-0.1, 0.1), (1.3, 1.45))  # near the north pole: all RA
    assert (ra0, ra1) == (0.0, 360.0) and d1 == 90.0


# -- loading through the cache -------------------------------------------------------------


def test_each_partition_is_one_cache_entry_loaded_in_parallel(allsky):
    cache = Cache(AgeBased())
    loader = PartitionLoader(cache, allsky, workers=4)
    pixels = partitions_in_view(allsky, (330.0, 30.0), (-20.0, 20.0))
    seen = []
    frames = loader.load(pixels, progress=lambda done, total, ready: seen.append((done, total, sum(f is not None for f in ready))))
    assert len(cache) == len(pixels) > 4 and seen[-1] == (len(pixels), len(pixels), len(pixels))
    assert [s[0] for s in seen] == [s[2] for s in seen] == list(range(1, len(pixels) + 1))  # the ready frames, as they come
    keys = {e["key"] for e in cache.entries()}
    assert keys == {loader.key(p) for p in pixels} and all(k.name == "SH" and k.parts[0].startswith("Norder=") for k in keys)
    rows = allsky.partition_rows()
    assert [len(f) for f in frames] == [rows[p] for p in pixels]
    sizes = {e["key"]: e["reported_bytes"] for e in cache.entries()}
    assert [sizes[loader.key(p)] for p in pixels] == [f.memory_usage(deep=True).sum() for f in frames]  # reported, not guessed
    again = loader.load(pixels)
    assert cache.counters()["hits"] == len(pixels) and all(a is b for a, b in zip(frames, again))
    assert loader.cached(pixels) == len(pixels)


def test_a_failing_partition_raises_and_leaves_the_others(allsky, tmp_path):
    shutil.copytree(allsky.path, tmp_path / "sh")
    copy = HatsCatalog("SH", tmp_path / "sh", allsky.mapping, {}, frozenset())
    pixels = partitions_in_view(copy, (0.0, 20.0), (-10.0, 10.0))
    copy.partition_file(pixels[0]).write_bytes(b"not parquet")
    cache = Cache(AgeBased())
    loader = PartitionLoader(cache, copy)
    with pytest.raises(CatalogError, match="not a readable HATS partition"):
        loader.load(pixels)
    assert loader.key(pixels[0]) not in cache and len(pixels) > 2
    kept = [p for p in pixels[1:] if loader.key(p) in cache]  # read before the failure was seen: they stay
    others = loader.load(pixels[1:])
    assert all(loader.key(p) in cache for p in pixels[1:]) and cache.counters()["hits"] == len(kept)
    for pixel, frame in zip(pixels[1:], others):
        pd.testing.assert_frame_equal(frame, allsky.load_partition(pixel))
    with pytest.raises(CatalogError, match="not a readable HATS partition"):  # a failure is not cached
        loader.load(pixels[:1])


def test_partition_runs_on_an_existing_dask_cluster(hats_dir, tmp_path, small_set):
    from distributed import LocalCluster

    spec = load_config(hats_dir / "c.toml").catalogs["MEMBERS"]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0",
                      worker_dashboard_address="127.0.0.1:0") as cluster:
        out = partition_catalog(spec, tmp_path / "on_cluster", SMALL, scheduler=cluster.scheduler_address, progress=False)
        assert any("map_to_pixels" in prefix for prefix in cluster.scheduler.task_prefixes)  # the work ran there
        assert no_dask_client_left() and cluster.status.name == "running"  # our client closed, their cluster not
    assert hats.read_hats(out).catalog_info.total_rows == small_set.rows["members"]


def test_generate_hats_writes_the_members_partitioned(tmp_path, capsys):
    assert main(["generate", "--preset", "small", "--out", str(tmp_path / "gen"), "--seed", "3", "--hats"]) == 0
    manifest = json.loads((tmp_path / "gen" / "manifest.json").read_text())
    catalog = hats.read_hats(tmp_path / "gen" / "hats" / "members")
    assert catalog.catalog_info.total_rows == manifest["rows"]["members"]
    assert "members as a HATS catalog" in capsys.readouterr().out and no_dask_client_left()


def test_the_local_cluster_listens_on_localhost_only(hats_dir, tmp_path, monkeypatch):
    import psutil
    from distributed import Client

    seen = []
    original_enter = Client.__enter__

    def enter(self):  # look at this process's listening sockets while the conversion's cluster is up
        seen.extend(c.laddr.ip for c in psutil.Process().net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN)
        return original_enter(self)

    monkeypatch.setattr(Client, "__enter__", enter)
    partition_catalog(load_config(hats_dir / "c.toml").catalogs["MEMBERS"], tmp_path / "local", SMALL, progress=False)
    assert seen and set(seen) == {"127.0.0.1"}


def test_a_hats_catalog_is_not_partitioned_again(hats_dir, tmp_path, capsys):
    hats_source(hats_dir)  # writes h.toml, naming the HATS catalog MH
    assert main(["partition", str(hats_dir / "h.toml"), "MH", "--out", str(tmp_path / "again")]) == 2
    assert "catalog 'MH' is already a HATS catalog" in capsys.readouterr().err and not (tmp_path / "again").exists()


def test_partition_a_fits_catalog(small_set, tmp_path):
    shutil.copy(small_set.files["both_fits"][0], tmp_path / "both.fits")
    config = write_config(tmp_path / "c.toml", '[catalogs.B]\nfiles = "both.fits"\n[catalogs.BH]\nfiles = "bh"\nformat = "hats"\n')
    cfg = load_config(config)
    partition_catalog(cfg.catalogs["B"], tmp_path / "bh", PartitionSettings(max_rows=1_000, highest_order=6, threads=1), progress=False)
    whole = CatalogSource(cfg.catalogs["B"]).load().data
    hc = CatalogSource(cfg.catalogs["BH"]).open_hats()
    parts = pd.concat([hc.load_partition(p) for p in hc.partitions])
    assert hc.total_rows == len(whole) == len(parts) and sorted(parts["id"]) == sorted(whole["id"])


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_rows_without_valid_coordinates_are_left_out(tmp_path, fmt):
    rng = np.random.default_rng(2)
    n = 2000
    frame = pd.DataFrame({"RA": rng.uniform(0, 360, n), "DEC": rng.uniform(-80, 80, n)})
    frame.loc[:9, "RA"] = np.nan
    frame.loc[10:14, "DEC"] = 95.0
    frame.to_parquet(tmp_path / "t.parquet") if fmt == "parquet" else frame.to_csv(tmp_path / "t.csv", index=False)
    config = write_config(tmp_path / "c.toml", f'[catalogs.T]\nfiles = "t.{fmt}"\ncolumns = {{ ra = "RA", dec = "DEC" }}\n')
    spec = load_config(config).catalogs["T"]
    out = partition_catalog(spec, tmp_path / "th", PartitionSettings(max_rows=500, highest_order=6, threads=1), progress=False)
    assert hats.read_hats(out).catalog_info.total_rows == len(CatalogSource(spec).load()) == n - 15  # as the readers load it
