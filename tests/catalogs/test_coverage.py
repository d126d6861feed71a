"""The coverage MOC of a catalog and its outline (vizcache/catalogs/coverage.py)."""

from __future__ import annotations

from types import SimpleNamespace

import astropy.units as u
import cdshealpix
import numpy as np
import pyarrow.parquet as pq
import pytest
from mocpy import MOC

from vizcache.catalogs import coverage
from vizcache.catalogs.hats import HatsCatalog, pixel_area_deg2
from vizcache.catalogs.projections import hammer_aitoff

from .test_hats import hats_dir, hats_source  # noqa: F401  (hats_dir is a fixture)


def positions(n=20_000, seed=3):
    """Two patches: one across RA 0, one across RA 180 (the all-sky map's seam)."""
    rng = np.random.default_rng(seed)
    ra = np.concatenate([rng.uniform(-15, 15, n) % 360, rng.uniform(160, 200, n)])
    dec = np.concatenate([rng.uniform(-40, 5, n), rng.uniform(-10, 20, n)])
    return ra, dec


def test_order_grows_with_rows():
    assert [coverage.order_for(n) for n in (10, 100_000, 100_001, 1_000_000, 11_000_000)] == [6, 6, 7, 7, 8]


def test_moc_holds_every_row_and_its_area_is_its_cells():
    ra, dec = positions()
    moc = coverage.moc_of_positions(ra, dec)
    assert moc.max_order == 6
    assert moc.contains_lonlat(ra * u.deg, dec * u.deg).all()
    cells = moc.flatten()
    assert coverage.area_deg2(moc) == pytest.approx(len(cells) * pixel_area_deg2(moc.max_order), rel=1e-9)
    # Nothing far from the rows: the patches' cells only.
    assert not moc.contains_lonlat(np.array([90.0, 270.0]) * u.deg, np.array([0.0, 60.0]) * u.deg).any()


def test_outline_edges_are_borders_of_exactly_one_cell():
    ra, dec = positions()
    moc = coverage.moc_of_positions(ra, dec)
    edges = coverage.boundary_edges(moc)
    assert len(edges) > 0
    inside = set(moc.flatten().tolist())
    # Just off an edge's midpoint, on either side: one side is a cell of the MOC, the other is not.
    mid = edges.mean(axis=1)
    along = edges[:, 1] - edges[:, 0]
    along[:, 0] = (along[:, 0] + 180) % 360 - 180
    mid[:, 0] = edges[:, 0, 0] + along[:, 0] / 2
    normal = np.column_stack([-along[:, 1], along[:, 0]])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) * 1e3  # 0.001° off the edge
    for sign in (1, -1):
        side = mid + sign * normal
        side_cells = cdshealpix.lonlat_to_healpix(np.mod(side[:, 0], 360) * u.deg, side[:, 1] * u.deg, moc.max_order)
        if sign == 1:
            first = np.array([c in inside for c in side_cells.tolist()])
        else:
            second = np.array([c in inside for c in side_cells.tolist()])
    assert (first != second).all()
    # Every edge's ends are vertices of a cell of the MOC.
    lon, lat = cdshealpix.vertices(np.array(sorted(inside), dtype=np.uint64), moc.max_order)
    vertices = {(round(a % 360, 6), round(b, 6)) for a, b in zip(lon.deg.ravel(), lat.deg.ravel())}
    assert all((round(a % 360, 6), round(b, 6)) in vertices for a, b in edges.reshape(-1, 2))


def test_a_single_cell_outline_is_its_four_edges():
    moc = MOC.from_healpix_cells(np.array([100], dtype=np.uint64), np.array([6], dtype=np.uint8), max_depth=6)
    assert len(coverage.boundary_edges(moc)) == 4
    two = MOC.from_healpix_cells(np.array([100, 101], dtype=np.uint64), np.array([6, 6], dtype=np.uint8), max_depth=6)
    assert len(coverage.boundary_edges(two)) == 6  # the shared edge is inside


@pytest.mark.parametrize("projection, seam_x", [("RA/Dec", 90.0), ("all-sky", 1.0)])
def test_no_piece_crosses_the_map(projection, seam_x):
    ra, dec = positions()
    pieces = coverage.outline(coverage.moc_of_positions(ra, dec), projection)
    jumps = [np.abs(np.diff(p[:, 0])).max() for p in pieces]
    assert max(jumps) < seam_x / 10  # cells are < 1°: no piece runs from one side of the map to the other
    xs = np.concatenate([p[:, 0] for p in pieces])
    if projection == "RA/Dec":
        assert xs.min() == 0.0 and xs.max() == 360.0  # the patch across RA 0 is cut at both edges
    else:
        # The patch across RA 180 is cut at both edges of the ellipse, where its border (Dec -10, +20) meets them.
        assert xs.min() < -2.7 and xs.max() > 2.7


def test_an_edge_across_ra_0_is_split_at_the_seam():
    edges = np.array([[[359.0, 0.0], [1.0, 2.0]]])
    pieces = coverage._split_at(edges, 0.0)
    assert len(pieces) == 2
    assert pieces[0][1].tolist() == [360.0, 1.0] and pieces[1][0].tolist() == [0.0, 1.0]
    assert coverage._split_at(np.array([[[10.0, 0.0], [12.0, 2.0]]]), 0.0)[0].tolist() == [[10.0, 0.0], [12.0, 2.0]]


def test_all_sky_outline_is_the_projected_edges():
    moc = MOC.from_healpix_cells(np.array([100], dtype=np.uint64), np.array([6], dtype=np.uint8), max_depth=6)
    edges = coverage.boundary_edges(moc)
    x, y = hammer_aitoff(edges[:, :, 0].ravel(), edges[:, :, 1].ravel())
    pieces = coverage.outline(moc, "all-sky")
    assert np.allclose(np.concatenate(pieces), np.column_stack([x, y]))


def test_fits_round_trip(tmp_path):
    ra, dec = positions(500)
    moc = coverage.moc_of_positions(ra, dec)
    path = tmp_path / "moc.fits"
    path.write_bytes(coverage.fits_bytes(moc))
    assert MOC.load(str(path), format="fits") == moc


def test_hats_moc_comes_from_the_partitions_without_reading_data(hats_dir, monkeypatch):  # noqa: F811
    catalog = hats_source(hats_dir).load()
    reads = []
    monkeypatch.setattr(HatsCatalog, "load_columns", lambda *a, **k: reads.append(a) or pytest.fail("partition read"))
    for name in ("read_table", "ParquetFile", "ParquetDataset"):
        original = getattr(pq, name)
        monkeypatch.setattr(pq, name, lambda *a, _o=original, **k: reads.append(a) or _o(*a, **k))
    moc = coverage.catalog_moc(catalog)
    assert reads == []
    pixels = catalog.hats.partitions
    assert moc is catalog.hats.catalog.moc  # the MOC the catalog ships (`vizcache partition` writes one)
    # Without one, the partition pixels: their area, and the shipped MOC inside them.
    bare = SimpleNamespace(moc=None, get_healpix_pixels=lambda: pixels)
    by_partition = coverage.hats_moc(bare)
    assert coverage.area_deg2(by_partition) == pytest.approx(sum(pixel_area_deg2(p.order) for p in pixels), rel=1e-9)
    assert moc.intersection(by_partition) == moc
    assert coverage.catalog_moc(catalog) is moc  # once per version
    # Every member's position is inside (read here, after the count).
    monkeypatch.undo()
    frame = catalog.hats.load_partition(pixels[0])
    assert moc.contains_lonlat(frame["ra"].to_numpy() * u.deg, frame["dec"].to_numpy() * u.deg).all()
