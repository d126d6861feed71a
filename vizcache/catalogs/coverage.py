"""A catalog's coverage as a MOC (mocpy) and the MOC's outline as lines on either map projection.

A HATS catalog's MOC comes from its partition pixels (or the MOC it ships), which opening the
catalog has read already: no data file is opened. A file catalog's MOC is the HEALPix cells holding
at least one of its rows, at an order chosen from its size (:func:`order_for`). Both are computed
once per catalog version (:func:`catalog_moc`, keyed by name and fingerprint).

The outline is the set of cell edges that belong to exactly one cell of the MOC (an edge shared by
two cells is inside the coverage), each edge a straight line between its two HEALPix vertices, cut
where it crosses the projection's seam (RA 0/360 on the RA/Dec map, RA 180 on the all-sky one).
"""

from __future__ import annotations

import threading

import cdshealpix
import numpy as np
from mocpy import MOC

from .projections import hammer_aitoff

#: Finest order of an outline: order 7 cells are 0.46° wide, and the whole sky is 196,608 of them.
OUTLINE_MAX_ORDER = 7
#: Row counts up to which a file catalog's MOC is at order 6 (0.92° cells), then 7; above, 8 (0.23°).
ORDER_STEPS = ((100_000, 6), (1_000_000, 7))
_CACHE_SIZE = 16  # catalog versions kept; a MOC of a few thousand cells weighs kilobytes
_lock = threading.Lock()
_mocs: dict[tuple[str, str], MOC] = {}
_outlines: dict[tuple[str, str, str], list[np.ndarray]] = {}


def order_for(rows: int) -> int:
    """The MOC order of a file catalog of ``rows`` rows: finer cells as more rows sample the footprint densely."""
    for limit, order in ORDER_STEPS:
        if rows <= limit:
            return order
    return 8


def moc_of_positions(ra: np.ndarray, dec: np.ndarray, order: int | None = None) -> MOC:
    """The cells of ``order`` (default :func:`order_for` of the row count) holding at least one position."""
    import astropy.units as u

    ra, dec = np.asarray(ra, dtype=float), np.asarray(dec, dtype=float)
    keep = np.isfinite(ra) & np.isfinite(dec)
    order = order_for(int(keep.sum())) if order is None else order
    return MOC.from_lonlat(lon=np.mod(ra[keep], 360.0) * u.deg, lat=dec[keep] * u.deg, max_norder=order)


def hats_moc(catalog) -> MOC:
    """The MOC of a ``hats`` Catalog: the one it ships if any, else its partition pixels (no data file read)."""
    shipped = getattr(catalog, "moc", None)
    if shipped is not None:
        return shipped
    pixels = list(catalog.get_healpix_pixels())
    orders = np.array([p.order for p in pixels], dtype=np.uint8)
    return MOC.from_healpix_cells(np.array([p.pixel for p in pixels], dtype=np.uint64), orders, max_depth=int(orders.max()))


def _build(catalog) -> MOC:
    if catalog.hats is not None:
        return hats_moc(catalog.hats.catalog)
    positions = catalog.data[["ra", "dec"]]
    if catalog.backend == "dask":
        positions = positions.compute()
    return moc_of_positions(positions["ra"].to_numpy(), positions["dec"].to_numpy())


def _remember(store: dict, key, value):
    with _lock:
        store[key] = value
        while len(store) > _CACHE_SIZE:
            store.pop(next(iter(store)))  # oldest first: dicts keep insertion order
    return value


def catalog_moc(catalog) -> MOC:
    """The MOC of a loaded catalog (vizcache.catalogs.source.Catalog), computed once per version."""
    key = (catalog.name, catalog.fingerprint)
    with _lock:
        if key in _mocs:
            return _mocs[key]
    return _remember(_mocs, key, _build(catalog))


def area_deg2(moc: MOC) -> float:
    """The MOC's sky area in square degrees."""
    return float(moc.sky_fraction * 4 * np.pi * np.degrees(1.0) ** 2)


def cells(moc: MOC, order: int) -> np.ndarray:
    """The MOC's cells at ``order`` (coarser than the MOC: degraded, so the outline encloses it)."""
    moc = moc.degrade_to_order(order) if moc.max_order > order else moc
    return moc.flatten() >> (2 * (moc.max_order - order))


def boundary_edges(moc: MOC, order: int | None = None) -> np.ndarray:
    """Edges (n, 2 ends, (ra, dec)) in degrees of the MOC's cells at ``order`` (default: the MOC's, at most
    OUTLINE_MAX_ORDER) that no other of its cells shares: the outline of the coverage."""
    order = min(moc.max_order, OUTLINE_MAX_ORDER) if order is None else order
    ipix = np.unique(cells(moc, order)).astype(np.uint64)
    if len(ipix) == 0:
        return np.empty((0, 2, 2))
    lon, lat = cdshealpix.vertices(ipix, order)  # per cell: S, E, N, W
    corners = np.stack([lon.deg, lat.deg], axis=-1)
    ends = np.stack([corners, np.roll(corners, -1, axis=1)], axis=2).reshape(-1, 2, 2)  # S-E, E-N, N-W, W-S
    # Two cells share an edge when they share its two vertices. A pole's longitude means nothing.
    key = np.round(ends, 7)
    key[..., 0] = np.where(np.abs(key[..., 1]) >= 90.0, 0.0, np.mod(key[..., 0], 360.0))
    flip = (key[:, 0, 0] > key[:, 1, 0]) | ((key[:, 0, 0] == key[:, 1, 0]) & (key[:, 0, 1] > key[:, 1, 1]))
    key[flip] = key[flip][:, ::-1]
    _, inverse, counts = np.unique(key.reshape(len(key), 4), axis=0, return_inverse=True, return_counts=True)
    return ends[counts[inverse.ravel()] == 1]


def _split_at(edges: np.ndarray, seam: float) -> list[np.ndarray]:
    """Edges as (ra, dec) pieces, one cut in two where it crosses RA ``seam``: never drawn across the map."""
    ra0, ra1 = edges[:, 0, 0], edges[:, 1, 0]
    # Each edge's end RA taken on the same side of the seam as its start (an edge spans < 180°).
    ra1 = ra0 + (ra1 - ra0 + 180.0) % 360.0 - 180.0
    rel0, rel1 = (ra0 - seam) % 360.0, (ra1 - ra0) + (ra0 - seam) % 360.0  # RA counted from the seam
    crosses = (rel1 < 0.0) | (rel1 > 360.0)
    pieces = [np.array([[ra0[i], edges[i, 0, 1]], [ra1[i], edges[i, 1, 1]]]) for i in np.flatnonzero(~crosses)]
    for i in np.flatnonzero(crosses):
        at = 0.0 if rel1[i] < 0.0 else 360.0  # the seam, counted from the seam, on the side the edge leaves by
        t = (at - rel0[i]) / (rel1[i] - rel0[i])
        dec_at = edges[i, 0, 1] + t * (edges[i, 1, 1] - edges[i, 0, 1])
        pieces.append(np.array([[ra0[i], edges[i, 0, 1]], [seam + at, dec_at]]))
        pieces.append(np.array([[seam + 360.0 - at, dec_at], [ra1[i], edges[i, 1, 1]]]))
    return pieces


def outline(moc: MOC, projection: str) -> list[np.ndarray]:
    """The MOC's outline as (x, y) pieces in ``projection`` ("RA/Dec": RA in [0, 360], Dec; "all-sky": Hammer-Aitoff)."""
    edges = boundary_edges(moc)
    if projection == "RA/Dec":
        # An RA of exactly 360 is the seam's right side; one of 0 its left: mod keeps the right side's 360.
        return [np.column_stack([np.where(p[:, 0] == 360.0, 360.0, np.mod(p[:, 0], 360.0)), p[:, 1]]) for p in _split_at(edges, 0.0)]
    pieces = []
    for piece in _split_at(edges, 180.0):
        x, y = hammer_aitoff(piece[:, 0], piece[:, 1])
        # RA 180 is both edges of the map: a point on it goes to the side of the edge's other end.
        on_seam = np.abs(np.mod(piece[:, 0], 360.0) - 180.0) < 1e-9
        if on_seam.any() and not on_seam.all():
            x = np.where(on_seam, np.copysign(x, x[~on_seam][0]), x)
        pieces.append(np.column_stack([x, y]))
    return pieces


def catalog_outline(catalog, projection: str) -> list[np.ndarray]:
    """:func:`outline` of :func:`catalog_moc`, computed once per catalog version and projection."""
    key = (catalog.name, catalog.fingerprint, projection)
    with _lock:
        if key in _outlines:
            return _outlines[key]
    return _remember(_outlines, key, outline(catalog_moc(catalog), projection))


def fits_bytes(moc: MOC) -> bytes:
    """The MOC as a FITS file (IVOA MOC 2.0), for download."""
    import io

    buffer = io.BytesIO()
    moc.serialize(format="fits").writeto(buffer)  # save() wants a path
    return buffer.getvalue()
