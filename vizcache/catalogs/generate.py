"""A realistic, deterministic synthetic Euclid-like DET-CL data set.

True clusters are drawn in a few survey patches (not the whole sky), grouped around
"supercluster" centres like large-scale structure, with redshifts 0.1-2 and skewed richness.
AMICO and PZWAV each detect them with their own redshift- and richness-dependent
selection, position and redshift scatter, and SNR scale; clusters both find are cross-matched
(``CROSS_ID_CLUSTER``). BOTH merges the two like the pipeline's merged product. Member galaxies
(count ∝ richness) follow a projected beta-model profile around each BOTH cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .projections import wrap_ra
from .readers import CatalogError, one_line
from .schema import EUCLID_COLUMNS

Progress = Callable[[float, str], None]


class GenerateError(CatalogError):
    """The data set could not be written (a full disk, say); names the folder and why."""

#: (name, ra_min, ra_max, dec_min, dec_max); ra_min > ra_max wraps across RA 0
PATCHES = (
    ("north-deep", 255.0, 285.0, 60.0, 72.0),
    ("south-wide", 30.0, 80.0, -65.0, -40.0),
    ("equatorial", 330.0, 30.0, -12.0, 12.0),
    ("north-wide", 120.0, 240.0, 20.0, 55.0),
)


@dataclass(frozen=True)
class Preset:
    true_clusters: int
    members_per_richness: float
    rows_per_file: int = 5_000_000
    row_group_rows: int = 500_000


PRESETS = {
    "small": Preset(true_clusters=4_000, members_per_richness=0.5, rows_per_file=20_000, row_group_rows=10_000),
    "default": Preset(true_clusters=240_000, members_per_richness=2.0),
    "large": Preset(true_clusters=2_400_000, members_per_richness=2.2, rows_per_file=10_000_000, row_group_rows=1_000_000),
}


def _patch_areas() -> np.ndarray:
    areas = []
    for _, ra0, ra1, d0, d1 in PATCHES:
        width = (ra1 - ra0) % 360.0
        areas.append(np.radians(width) * (np.sin(np.radians(d1)) - np.sin(np.radians(d0))))
    return np.asarray(areas)


def _uniform_in_footprint(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    areas = _patch_areas()
    which = rng.choice(len(PATCHES), size=n, p=areas / areas.sum())
    bounds = np.asarray([p[1:] for p in PATCHES])[which]
    width = (bounds[:, 1] - bounds[:, 0]) % 360.0
    ra = wrap_ra(bounds[:, 0] + rng.uniform(0, 1, n) * width)
    s0, s1 = np.sin(np.radians(bounds[:, 2])), np.sin(np.radians(bounds[:, 3]))
    dec = np.degrees(np.arcsin(s0 + rng.uniform(0, 1, n) * (s1 - s0)))  # uniform on the sphere
    return ra, dec


def in_footprint(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    inside = np.zeros(len(ra), dtype=bool)
    for _, ra0, ra1, d0, d1 in PATCHES:
        inside |= ((ra - ra0) % 360.0 <= (ra1 - ra0) % 360.0) & (dec >= d0) & (dec <= d1)
    return inside


def _clustered_positions(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """70 % of clusters around supercluster centres (σ ≈ 1.5°), 30 % in the field."""
    centres_ra, centres_dec = _uniform_in_footprint(rng, max(1, n // 40))
    grouped = rng.uniform(0, 1, n) < 0.7
    pick = rng.integers(0, len(centres_ra), n)
    sigma = rng.uniform(0.5, 2.5, len(centres_ra))[pick]
    dec = centres_dec[pick] + rng.normal(0, 1, n) * sigma
    ra = wrap_ra(centres_ra[pick] + rng.normal(0, 1, n) * sigma / np.cos(np.radians(np.clip(dec, -89, 89))))
    field_ra, field_dec = _uniform_in_footprint(rng, n)
    keep = grouped & in_footprint(ra, dec) & (np.abs(dec) < 89.5)
    return np.where(keep, ra, field_ra), np.where(keep, dec, field_dec)


def _redshifts(rng: np.random.Generator, n: int) -> np.ndarray:
    """p(z) ∝ z² exp(-z / 0.45) on [0.1, 2]: volume growth against the falling mass function."""
    grid = np.linspace(0.1, 2.0, 2000)
    cdf = np.cumsum(grid**2 * np.exp(-grid / 0.45))
    return np.interp(rng.uniform(0, 1, n), (cdf - cdf[0]) / (cdf[-1] - cdf[0]), grid)


def _true_clusters(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    ra, dec = _clustered_positions(rng, n)
    z = _redshifts(rng, n)
    richness = 8.0 + rng.lognormal(np.log(14.0), 0.65, n)  # skewed: few very rich clusters
    return {"ra": ra, "dec": dec, "z": z, "richness": richness}


# Per code: redshift-dependent richness threshold, scatter, and SNR scale (they differ on purpose).
_CODES = {
    "AMICO": dict(code=1, id_base=1_000_000_000, r0=(9.0, 10.0, 1.0), width=3.0, pos_arcmin=0.4, z_scatter=0.02,
                  snr=lambda r, z, g: 3.0 + 1.1 * np.sqrt(r) * g.lognormal(0, 0.25, len(r)) * (1.2 - z / 2.5)),
    "PZWAV": dict(code=2, id_base=2_000_000_000, r0=(11.0, 4.0, 2.0), width=4.0, pos_arcmin=0.7, z_scatter=0.035,
                  snr=lambda r, z, g: 2.0 + 0.12 * r**0.9 * g.lognormal(0, 0.35, len(r)) / (1 + 0.3 * z)),
}


def _detect(rng: np.random.Generator, truth: dict[str, np.ndarray], name: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    c = _CODES[name]
    a, b, p = c["r0"]
    z, r = truth["z"], truth["richness"]
    p_detect = 1.0 / (1.0 + np.exp(-(r - (a + b * z**p)) / c["width"]))
    idx = np.flatnonzero(rng.uniform(0, 1, len(z)) < p_detect)
    zt, rt = z[idx], r[idx]
    scatter = c["pos_arcmin"] / 60.0
    dec = np.clip(truth["dec"][idx] + rng.normal(0, scatter, len(idx)), -90, 90)
    ra = wrap_ra(truth["ra"][idx] + rng.normal(0, scatter, len(idx)) / np.cos(np.radians(np.clip(dec, -89, 89))))
    z_err = c["z_scatter"] * (1 + zt) * rng.lognormal(0, 0.2, len(idx))
    cols = {
        "id": c["id_base"] + np.arange(len(idx), dtype=np.int64),
        "ra": ra, "dec": dec,
        "z": np.clip(zt + rng.normal(0, 1, len(idx)) * c["z_scatter"] * (1 + zt), 0.01, None),
        "z_err": z_err,
        "snr": c["snr"](rt, zt, rng),
        "richness": rt * rng.lognormal(0, 0.15, len(idx)),
        "radius": 0.03 * (rt / 20.0) ** (1 / 3) / np.maximum(zt, 0.1) ** 0.7,  # degrees
        "det_code": np.full(len(idx), c["code"], dtype=np.int64),
    }
    return idx, cols


def _to_table(cols: dict[str, np.ndarray], kind: str) -> pa.Table:
    names = EUCLID_COLUMNS[kind]
    return pa.table({names[k]: v for k, v in cols.items()})


@dataclass
class GeneratedSet:
    out_dir: str
    preset: str
    seed: int
    rows: dict[str, int]
    files: dict[str, list[str]]

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def generate(
    out_dir: str | Path,
    preset: str | Preset = "small",
    seed: int = 42,
    fits: bool = False,
    progress: Progress | None = None,
) -> GeneratedSet:
    """Write PZWAV, AMICO, BOTH cluster catalogs and BOTH's members under ``out_dir``.

    Deterministic in ``seed``. Members go to several Parquet files of ``rows_per_file``;
    with ``fits`` the cluster catalogs are also written as FITS binary tables.
    """
    spec = PRESETS[preset] if isinstance(preset, str) else preset
    name = preset if isinstance(preset, str) else "custom"
    out = Path(out_dir)
    report = progress or (lambda fraction, message: None)
    staging = None
    try:
        # Written beside ``out`` first, so a full disk or a kill leaves no partial file in it and an old set whole.
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned_staging(out)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-generating-{os.getpid()}-", dir=out.parent))
        rows = _write_set(staging, spec, seed, fits, report)
        result = GeneratedSet(str(out), name, seed, rows, _final_paths(staging, out))
        (staging / "manifest.json").write_text(json.dumps(asdict(result), indent=2))
        _move_into_place(staging, out)
    except OSError as exc:
        raise GenerateError(f"{out}: cannot write the data set ({exc.strerror or one_line(exc)}); nothing was changed there") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    report(1.0, f"done: {result.total_rows:,} rows")
    return result


def _write_set(folder: Path, spec: Preset, seed: int, fits: bool, report: Progress) -> dict[str, int]:
    """Every file of the data set into ``folder``; the rows of each catalog."""
    (folder / "members").mkdir()
    rng = np.random.default_rng(seed)

    report(0.0, "drawing true clusters")
    truth = _true_clusters(rng, spec.true_clusters)
    amico_idx, amico = _detect(rng, truth, "AMICO")
    pzwav_idx, pzwav = _detect(rng, truth, "PZWAV")
    # Cross-match: the same true cluster found by both codes.
    common, a_pos, p_pos = np.intersect1d(amico_idx, pzwav_idx, return_indices=True)
    amico["cross_id"] = np.full(len(amico_idx), np.nan)
    pzwav["cross_id"] = np.full(len(pzwav_idx), np.nan)
    amico["cross_id"][a_pos] = pzwav["id"][p_pos]
    pzwav["cross_id"][p_pos] = amico["id"][a_pos]
    # BOTH: every AMICO detection, plus PZWAV detections AMICO did not make.
    only_pzwav = np.isnan(pzwav["cross_id"])
    both = {k: np.concatenate([amico[k], pzwav[k][only_pzwav]]) for k in amico}
    both_true = np.concatenate([amico_idx, pzwav_idx[only_pzwav]])

    rows: dict[str, int] = {}
    for label, cols in (("pzwav", pzwav), ("amico", amico), ("both", both)):
        pq.write_table(_to_table(cols, "clusters"), folder / f"{label}.parquet", row_group_size=spec.row_group_rows)
        rows[label] = len(cols["id"])
        if fits:
            _write_fits(cols, folder / f"{label}.fits", label.upper())
    report(0.05, f"clusters written: {rows['amico']:,} AMICO, {rows['pzwav']:,} PZWAV, {rows['both']:,} BOTH")

    counts = rng.poisson(truth["richness"][both_true] * spec.members_per_richness)
    rows["members"] = _write_members(folder / "members", both, counts, spec, seed, report)
    return rows


def _remove_abandoned_staging(out: Path) -> None:
    """Staging folders of runs that were killed (their process is gone) are removed; running ones are left."""
    import psutil

    for folder in out.parent.glob(f".{out.name}-generating-*-*"):
        pid = folder.name.removeprefix(f".{out.name}-generating-").split("-")[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _final_paths(staging: Path, out: Path) -> dict[str, list[str]]:
    """Where each catalog's staged files will be once in ``out``, by label."""
    labels = ("pzwav", "amico", "both")
    files = {label: [str(out / f"{label}.parquet")] for label in labels}
    files |= {f"{label}_fits": [str(out / f"{label}.fits")] for label in labels if (staging / f"{label}.fits").exists()}
    files["members"] = [str(out / "members" / p.name) for p in sorted((staging / "members").glob("members-*.parquet"))]
    return files


def _move_into_place(staging: Path, out: Path) -> None:
    """Move a complete staged set to ``out``: renames on one file system, which need no space."""
    if not out.exists():
        staging.rename(out)
        return
    (out / "members").mkdir(exist_ok=True)
    for old in (out / "members").glob("members-*.parquet"):
        old.unlink()  # a smaller re-run must not leave stale parts behind
    for path in sorted(staging.rglob("*.*")):
        os.replace(path, out / path.relative_to(staging))


def _write_members(folder: Path, clusters: dict[str, np.ndarray], counts: np.ndarray, spec: Preset, seed: int,
                   report: Progress) -> int:
    # Split clusters into consecutive chunks of about rows_per_file members each.
    ends = np.searchsorted(np.cumsum(counts), np.arange(spec.rows_per_file, counts.sum() + spec.rows_per_file, spec.rows_per_file), side="right")
    starts = np.concatenate([[0], ends[:-1]])
    written, total = 0, int(counts.sum())
    for part, (lo, hi) in enumerate(zip(starts, np.minimum(ends, len(counts)))):
        if hi <= lo:
            continue
        rng = np.random.default_rng([seed, part])  # per part: same output whatever else changes
        n = counts[lo:hi]
        rep = np.repeat(np.arange(lo, hi), n)
        m = len(rep)
        radius = clusters["radius"][rep]
        core = 0.15  # beta model, β = 2/3: Σ(x) ∝ 1/(1+x²), truncated at x_max = radius/core_radius
        x_max = 1.0 / core
        x = np.sqrt(np.expm1(rng.uniform(0, 1, m) * np.log1p(x_max**2)))
        r = x * core * radius
        theta = rng.uniform(0, 2 * np.pi, m)
        dec = np.clip(clusters["dec"][rep] + r * np.sin(theta), -90, 90)
        ra = wrap_ra(clusters["ra"][rep] + r * np.cos(theta) / np.cos(np.radians(np.clip(dec, -89, 89))))
        z = clusters["z"][rep]
        cols = {
            "cluster_id": clusters["id"][rep],
            "ra": ra, "dec": dec,
            "z_phot": np.clip(z + rng.normal(0, 1, m) * 0.05 * (1 + z), 0.0, None).astype(np.float32),
            "pmem": np.clip(np.exp(-1.5 * x / x_max) * rng.uniform(0.6, 1.0, m), 0, 1).astype(np.float32),
        }
        pq.write_table(_to_table(cols, "members"), folder / f"members-{part:05d}.parquet", row_group_size=spec.row_group_rows)
        written += 1
        report(0.05 + 0.95 * hi / len(counts), f"members: {written} file(s)")
    return total


def _write_fits(cols: dict[str, np.ndarray], path: Path, code: str) -> None:
    from astropy.io import fits

    names = EUCLID_COLUMNS["clusters"]
    units = {"ra": "deg", "dec": "deg", "radius": "deg"}
    columns = [
        fits.Column(name=names[k], format="K" if v.dtype.kind == "i" else "D", unit=units.get(k), array=v)
        for k, v in cols.items()
    ]
    hdu = fits.BinTableHDU.from_columns(columns, name="DET_CL")
    hdu.header["DETCODE"] = (code, "detection code(s) of this catalog")
    hdu.header["ORIGIN"] = "vizcache synthetic generator"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True)
