"""Cross-match two cluster catalogs on sky position and redshift: which clusters both finders detected.

Candidate pairs come from astropy's ``SkyCoord.search_around_sky`` (every pair closer than the
radius); pairs whose redshifts differ by more than ``dz * (1 + z_a)`` are dropped (a pair where
either redshift is unknown is judged on position alone). Each cluster is then matched at most
once, closest pairs first, so a rich group of detections never matches one cluster twice.

ClEvaR's options: the radius in proper Mpc at each A cluster's redshift (``radius_mpc``, Planck18's
angular diameter distance; an A cluster without a redshift uses ``radius_arcsec``), and ``both_ways``:
a pair is kept only when each cluster is the other's closest candidate (instead of closest pairs first).

Completeness and purity follow the usual finder-comparison convention, with B the reference:
completeness is the fraction of B's clusters that have a match in A, purity the fraction of A's
clusters that have a match in B, each with a Wilson 68 % interval per bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MATCHED, ONLY_A, ONLY_B = "matched", "only A", "only B"


def _nullable(ids: pd.Series | None):
    """The nullable integer dtype that holds a catalog's ids exactly (UInt64 for uint64 ids)."""
    return pd.UInt64Dtype() if ids is not None and ids.dtype.kind == "u" else pd.Int64Dtype()


@dataclass
class Crossmatch:
    """The one-to-one matches between catalogs A and B (row positions in each frame)."""

    a: pd.DataFrame
    b: pd.DataFrame
    radius_arcsec: float
    dz: float
    a_to_b: np.ndarray  # per A row: position of its match in B, or -1
    b_to_a: np.ndarray  # per B row: position of its match in A, or -1
    separation_arcsec: np.ndarray  # per matched pair, in the order of `pairs`
    pairs: np.ndarray  # (n, 2): A position, B position
    radius_mpc: float | None = None  # the radius in proper Mpc at A's redshift, when it was given so
    both_ways: bool = False  # each of a pair the other's closest candidate

    @property
    def counts(self) -> dict[str, int]:
        return {MATCHED: len(self.pairs), ONLY_A: int((self.a_to_b < 0).sum()), ONLY_B: int((self.b_to_a < 0).sum())}

    def classes(self) -> pd.DataFrame:
        """One row per matched pair (at A's position) and per unmatched cluster of either side.

        Columns: ``match`` (matched / only A / only B), ``ra``, ``dec``, ``z``, ``snr`` (A's for
        matched pairs), ``id_a``, ``id_b`` (each catalog's exact ids, missing where that side has
        none), ``sep_arcsec``, ``dz``.
        """
        a, b = self.a, self.b
        ia, ib = self.pairs[:, 0], self.pairs[:, 1]
        only_a, only_b = np.flatnonzero(self.a_to_b < 0), np.flatnonzero(self.b_to_a < 0)

        def col(frame, name, rows):
            return frame[name].to_numpy()[rows].astype(float) if name in frame.columns else np.full(len(rows), np.nan)

        def ids(frame, rows, n):
            # One side's exact ids at ``rows`` (never through float64, uint64 never wrapped); missing where
            # that side has no cluster (rows None) or no ids.
            column = frame["id"] if "id" in frame.columns else None
            if rows is None or column is None:
                return pd.array([pd.NA] * n, dtype=_nullable(column))
            return pd.array(column.iloc[rows], dtype=_nullable(column))

        parts = []
        for label, frame, rows in ((MATCHED, a, ia), (ONLY_A, a, only_a), (ONLY_B, b, only_b)):
            part = pd.DataFrame({c: col(frame, c, rows) for c in ("ra", "dec", "z", "snr")})
            part.insert(0, "match", label)
            part["id_a"] = ids(a, rows if label != ONLY_B else None, len(rows))
            part["id_b"] = ids(b, ib if label == MATCHED else rows if label == ONLY_B else None, len(rows))
            if label == MATCHED:
                part["sep_arcsec"] = self.separation_arcsec
                part["dz"] = col(b, "z", ib) - col(a, "z", ia)
            else:
                part["sep_arcsec"] = np.nan
                part["dz"] = np.nan
            parts.append(part)
        out = pd.concat(parts, ignore_index=True)
        out["match"] = pd.Categorical(out["match"], categories=[MATCHED, ONLY_A, ONLY_B])
        return out

    def rates(self, column: str, bins: np.ndarray) -> pd.DataFrame:
        """Completeness (of B found in A) and purity (of A found in B) per bin of ``column``.

        Each side is binned by its own value of the column; rows without a value are left out.
        """
        from astropy.stats import binom_conf_interval

        rows = []
        for name, frame, matched in (("completeness", self.b, self.b_to_a >= 0), ("purity", self.a, self.a_to_b >= 0)):
            if column not in frame.columns:
                continue
            values = frame[column].to_numpy(dtype=float)
            which = np.digitize(values, bins) - 1
            for i in range(len(bins) - 1):
                in_bin = (which == i) & np.isfinite(values)
                n, k = int(in_bin.sum()), int((in_bin & matched).sum())
                lo, hi = binom_conf_interval(k, n, confidence_level=0.6827, interval="wilson") if n else (np.nan, np.nan)
                rows.append({"rate": name, "lo": bins[i], "hi": bins[i + 1], "centre": (bins[i] + bins[i + 1]) / 2,
                             "n": n, "matched": k, "value": k / n if n else np.nan, "low": lo, "high": hi})
        return pd.DataFrame(rows)


#: the angular radius a Mpc radius gives at most (a cluster at z -> 0 would search the whole sky)
MAX_RADIUS_ARCSEC = 3600.0


def angular_radius(a: pd.DataFrame, radius_arcsec: float, radius_mpc: float | None) -> np.ndarray:
    """Each A cluster's search radius in arcsec: ``radius_mpc`` proper Mpc at its redshift (Planck18), at most
    MAX_RADIUS_ARCSEC; ``radius_arcsec`` for a cluster without a redshift, or when no Mpc radius is given."""
    radius = np.full(len(a), float(radius_arcsec))
    if radius_mpc is None or "z" not in a.columns:
        return radius
    from astropy.cosmology import Planck18

    z = a["z"].to_numpy(dtype=float)
    known = np.isfinite(z) & (z > 0)
    if known.any():
        distance = Planck18.angular_diameter_distance(z[known]).to_value("Mpc")
        radius[known] = np.minimum(np.degrees(radius_mpc / distance) * 3600.0, MAX_RADIUS_ARCSEC)
    return radius


def crossmatch(a: pd.DataFrame, b: pd.DataFrame, radius_arcsec: float = 180.0, dz: float = 0.15,
               candidates: tuple[np.ndarray, np.ndarray] | None = None, radius_mpc: float | None = None,
               both_ways: bool = False) -> Crossmatch:
    """One-to-one matches of A and B within the radius and ``|z_b - z_a| <= dz * (1 + z_a)``.

    ``a`` and ``b`` are catalogs in canonical columns (``ra``, ``dec`` in degrees; ``z`` optional).
    ``candidates``: (A positions, B positions) of every pair within the largest radius, found elsewhere (on a
    Dask cluster through LSDB, catalogs/lsdb_tier.py); by default astropy's ``search_around_sky`` finds them.
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    if not radius_arcsec > 0 or not dz >= 0 or radius_mpc is not None and not radius_mpc > 0:
        raise ValueError(f"crossmatch: radius_arcsec and radius_mpc must be > 0 and dz >= 0 (got {radius_arcsec!r}, {radius_mpc!r}, {dz!r})")
    a_to_b = np.full(len(a), -1, dtype=np.int64)
    b_to_a = np.full(len(b), -1, dtype=np.int64)
    if len(a) == 0 or len(b) == 0:
        return Crossmatch(a, b, radius_arcsec, dz, a_to_b, b_to_a, np.empty(0), np.empty((0, 2), dtype=np.int64), radius_mpc, both_ways)
    ca = SkyCoord(a["ra"].to_numpy(dtype=float) * u.deg, a["dec"].to_numpy(dtype=float) * u.deg)
    cb = SkyCoord(b["ra"].to_numpy(dtype=float) * u.deg, b["dec"].to_numpy(dtype=float) * u.deg)
    radius = angular_radius(a, radius_arcsec, radius_mpc)
    if candidates is None:
        ia, ib, sep = _pairs(ca, cb, float(radius.max()))
    else:  # separations as search_around_sky gives them: the same closest-first order
        ia, ib = candidates
        sep = ca[ia].separation(cb[ib]).arcsec if len(ia) else np.empty(0)
    keep = sep <= radius[ia]  # each A cluster's own radius (all equal without radius_mpc)
    if "z" in a.columns and "z" in b.columns and len(ia):
        za, zb = a["z"].to_numpy(dtype=float)[ia], b["z"].to_numpy(dtype=float)[ib]
        known = np.isfinite(za) & np.isfinite(zb)
        keep &= ~known | (np.abs(zb - za) <= dz * (1 + np.where(known, za, 0.0)))
    ia, ib, sep = ia[keep], ib[keep], sep[keep]
    order = np.argsort(sep, kind="stable")
    if both_ways:  # each the other's closest: the first (closest) candidate of each side, kept where both agree
        first_a = {}
        first_b = {}
        for i, j in zip(ia[order], ib[order]):
            first_a.setdefault(i, j)
            first_b.setdefault(j, i)
        taken = [(i, j) for i, j in first_a.items() if first_b[j] == i]
        for i, j in taken:
            a_to_b[i], b_to_a[j] = j, i
    else:  # closest first; a pair is taken only if neither side is matched yet
        taken = []
        for i, j in zip(ia[order], ib[order]):
            if a_to_b[i] < 0 and b_to_a[j] < 0:
                a_to_b[i], b_to_a[j] = j, i
                taken.append((i, j))
    pairs = np.asarray(taken, dtype=np.int64).reshape(-1, 2)
    separation = ca[pairs[:, 0]].separation(cb[pairs[:, 1]]).arcsec if len(pairs) else np.empty(0)
    return Crossmatch(a, b, radius_arcsec, dz, a_to_b, b_to_a, np.asarray(separation), pairs, radius_mpc, both_ways)


def _pairs(ca, cb, radius_arcsec: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A positions, B positions, separations in arcsec) of every pair closer than the radius."""
    import astropy.units as u

    ib, ia, sep, _ = ca.search_around_sky(cb, radius_arcsec * u.arcsec)  # (indices into cb, into ca, ...)
    return ia, ib, sep.arcsec


def summary_markdown(match, names: tuple[str, str], rows: tuple[int, int], radius_arcsec: float, dz: float) -> str:
    """The comparison's numbers as Markdown: counts, median separation, completeness and purity by z and SNR."""
    (a, b), counts = names, match.counts
    lines = [f"{a} ({rows[0]:,}) vs {b} ({rows[1]:,}), radius {radius_arcsec:g} arcsec, |dz|/(1+z) <= {dz:g}: "
             f"{counts[MATCHED]:,} matched, {counts[ONLY_A]:,} only {a}, {counts[ONLY_B]:,} only {b}; "
             f"median separation {np.median(match.separation_arcsec):.1f} arcsec", ""]
    for column, bins in (("z", np.round(np.arange(0.0, 2.01, 0.4), 2)), ("snr", np.array([3, 5, 8, 12, 20, 60], dtype=float))):
        rates = match.rates(column, bins).pivot_table(index=["lo", "hi"], columns="rate", values="value")
        lines += [f"| {column} bin | completeness ({b} found in {a}) | purity ({a} matched in {b}) |", "|---|---|---|"]
        for (lo, hi), row in rates.iterrows():
            lines.append(f"| {lo:g}–{hi:g} | {row.get('completeness', np.nan):.1%} | {row.get('purity', np.nan):.1%} |")
        lines.append("")
    return "\n".join(lines)
