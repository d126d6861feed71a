"""A PSZ2-like FITS table made in the test: RA, DEC, REDSHIFT (-1 = unknown), SNR, NAME and two extra columns."""

import numpy as np

PSZ2_MAPPING = """
[catalogs.PSZ2]
files = "psz2.fits"
columns = { id = "INDEX", name = "NAME", ra = "RA", dec = "DEC", z = "REDSHIFT", snr = "SNR" }
missing = { z = -1 }
float64 = ["ra", "dec"]
extra = ["GLON", "REDSHIFT_SOURCE"]
"""


def write_psz2(path, n: int = 60, seed: int = 3):
    """n clusters spread over the sky, the Bullet cluster (PSZ2 G266.04-21.25) among them; a third without redshift."""
    from astropy.io import fits

    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    ra[0], dec[0] = 104.6298, -55.9469  # the Bullet cluster
    z = rng.uniform(0.05, 0.8, n)
    z[0] = 0.296
    z[1::3] = -1.0
    snr = rng.uniform(4.5, 30, n)
    snr[0] = 28.4
    names = [f"PSZ2 G{rng.uniform(0, 360):06.2f}{rng.uniform(-60, 60):+06.2f}" for _ in range(n)]
    names[0] = "PSZ2 G266.04-21.25"
    source = np.where(z < 0, -1, rng.integers(0, 6, n))
    columns = [
        fits.Column(name="INDEX", format="J", array=np.arange(1, n + 1)),
        fits.Column(name="NAME", format="18A", array=np.array(names)),
        fits.Column(name="RA", format="D", unit="deg", array=ra),
        fits.Column(name="DEC", format="D", unit="deg", array=dec),
        fits.Column(name="GLON", format="D", unit="deg", array=rng.uniform(0, 360, n)),
        fits.Column(name="REDSHIFT", format="E", array=z),
        fits.Column(name="REDSHIFT_SOURCE", format="I", array=source),
        fits.Column(name="SNR", format="E", array=snr),
    ]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(columns, name="PSZ2_UNION")]).writeto(path, overwrite=True)
    return {"ra": ra, "dec": dec, "z": z, "snr": snr, "names": names}
