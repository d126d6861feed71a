"""Canonical catalog columns and the Euclid DET-CL names that map onto them by default.

Inside vizcache every catalog uses the canonical names; a config's column mapping says which
source column holds each one, so a PSZ2 or redMaPPer table loads without code changes.
"""

from __future__ import annotations

KINDS = ("clusters", "members")

#: canonical -> Euclid DET-CL source column, per kind
EUCLID_COLUMNS: dict[str, dict[str, str]] = {
    "clusters": {
        "id": "ID_UNIQUE_CLUSTER",
        "ra": "RIGHT_ASCENSION_CLUSTER",
        "dec": "DECLINATION_CLUSTER",
        "z": "Z_CLUSTER",
        "z_err": "Z_ERR_CLUSTER",
        "snr": "SNR_CLUSTER",
        "richness": "RICHNESS_CLUSTER",
        "radius": "RADIUS_CLUSTER",
        "det_code": "DET_CODE_NB",
        "cross_id": "CROSS_ID_CLUSTER",
    },
    "members": {
        "cluster_id": "ID_UNIQUE_CLUSTER",
        "ra": "RIGHT_ASCENSION_GALAXY",
        "dec": "DECLINATION_GALAXY",
        "z_phot": "Z_PHOT_GALAXY",
        "pmem": "PMEM",
    },
}

#: canonical columns of text, for any kind: a cluster's name (PSZ2 ``NAME``), mapped like the others
TEXT_COLUMNS = ("name",)
#: every catalog needs sky positions; the rest are optional
REQUIRED = ("ra", "dec")
#: identifiers: exact 64-bit integers (int64, or uint64 when the file's are), pandas nullable
#: integers when some are missing (cross_id: missing means "no match"); never through a float,
#: which holds whole numbers exactly only up to 2**53 (see identifiers.py)
IDENTIFIER_COLUMNS = ("id", "cluster_id", "cross_id", "det_code")

DET_CODES = {1: "AMICO", 2: "PZWAV"}
