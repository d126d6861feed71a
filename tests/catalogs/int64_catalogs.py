"""Tiny cluster catalogs whose ids need all 64 bits (float64 is exact only up to 2**53), in every file format.

Each catalog has four clusters: ``ID_UNIQUE_CLUSTER`` (int64, or uint64 up to 2**64 - 1), a cross id
with missing values (null in Parquet and CSV, the sentinel -1 in FITS, which has no null for
integers) and an extra 64-bit column, ``ID_BCG``.
"""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

#: neighbours that float64 cannot tell apart: 2**53 + 1 reads as 2**53, 2**63 - 1 as 2**63
SIGNED = [2**53 + 1, 2**63 - 1, 2**53, 7]
UNSIGNED = [2**64 - 1, 2**63, 2**53 + 1, 2**53]
CROSS = [2**63 - 3, None, 2**53 + 3, None]
BCG = [2**62 + 1, 2**53 + 5, -(2**63), 3]
RA = [10.0, 100.0, 200.0, 300.0]
DEC = [0.0, 10.0, -10.0, 20.0]
SNR = [5.0, 6.0, 7.0, 8.0]
FORMATS = ("parquet", "fits", "csv")

MAPPING = """
columns = { id = "ID_UNIQUE_CLUSTER", ra = "RA", dec = "DEC", snr = "SNR", cross_id = "CROSS_ID_CLUSTER" }
missing = { cross_id = -1 }
extra = ["ID_BCG"]
"""


def ids_for(unsigned: bool) -> list[int]:
    return UNSIGNED if unsigned else SIGNED


def write_catalog(folder, fmt: str, unsigned: bool):
    """The catalog as ``folder/ids.<fmt>``; returns its path."""
    ids = ids_for(unsigned)
    path = folder / f"ids.{fmt}"
    if fmt == "parquet":
        pq.write_table(pa.table({
            "ID_UNIQUE_CLUSTER": pa.array(ids, pa.uint64() if unsigned else pa.int64()),
            "RA": RA, "DEC": DEC, "SNR": SNR,
            "CROSS_ID_CLUSTER": pa.array(CROSS, pa.int64()), "ID_BCG": pa.array(BCG, pa.int64())}), path)
    elif fmt == "csv":
        lines = ["ID_UNIQUE_CLUSTER,RA,DEC,SNR,CROSS_ID_CLUSTER,ID_BCG"]
        lines += [f"{i},{r},{d},{s},{'' if c is None else c},{b}" for i, r, d, s, c, b in zip(ids, RA, DEC, SNR, CROSS, BCG)]
        path.write_text("\n".join(lines) + "\n")
    elif fmt == "fits":
        from astropy.io import fits

        cross = np.array([-1 if c is None else c for c in CROSS], dtype=np.int64)
        fits.BinTableHDU.from_columns([
            # uint64 is stored as K with TZERO = 2**63 (the FITS convention); astropy writes and reads it back as uint64
            fits.Column(name="ID_UNIQUE_CLUSTER", format="K", array=np.array(ids, dtype=np.uint64 if unsigned else np.int64),
                        **({"bzero": 2**63} if unsigned else {})),
            fits.Column(name="RA", format="D", array=np.array(RA)), fits.Column(name="DEC", format="D", array=np.array(DEC)),
            fits.Column(name="SNR", format="D", array=np.array(SNR)),
            fits.Column(name="CROSS_ID_CLUSTER", format="K", array=cross),
            fits.Column(name="ID_BCG", format="K", array=np.array(BCG, dtype=np.int64)),
        ]).writeto(path)
    else:
        raise ValueError(fmt)
    return path


def catalog_config(fmt: str, name: str = "IDS", files: str | None = None) -> str:
    """The config's [catalogs.<name>] table for the catalog ``write_catalog`` wrote."""
    return f'[catalogs.{name}]\nfiles = "{files or f"ids.{fmt}"}"\nkind = "clusters"\n' + MAPPING
