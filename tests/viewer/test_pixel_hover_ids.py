"""The map's pixel hover names a pixel's brightest cluster by its exact 64-bit id: the id goes to
the browser as two 32-bit halves and a formatter joins them with BigInt (a JavaScript number
holds 53 bits). Both halves of that trip are run here: numpy's split, and the formatter itself
under Node.js with Bokeh's hover variables."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from vizcache.viewer.raster import rasterize
from vizcache.viewer.sky_figure import PIXEL_FIELD

SKY = ((0.0, 360.0), (-90.0, 90.0))
IDS = {"int64": [2**53 + 1, 2**63 - 1, -(2**63), -1, 7], "uint64": [2**53 + 1, 2**64 - 1, 2**63, 0, 7]}


def _clusters(kind: str, missing: bool = False) -> pd.DataFrame:
    dtype = {"int64": "Int64", "uint64": "UInt64"}[kind]
    ids = pd.array(IDS[kind], dtype=dtype)
    if missing:
        ids[4] = pd.NA
    return pd.DataFrame({"ra": [20.0, 90.0, 160.0, 230.0, 300.0], "dec": [-40.0, -20.0, 0.0, 20.0, 40.0],
                         "snr": [5.0, 6.0, 7.0, 8.0, 9.0], "id": ids})


def _format_in_node(data: dict, fmt: str, signed: bool = True) -> str:
    """Run the hover's formatter code in Node.js on one pixel, as BokehJS calls it: ``value`` is the
    image's x, ``format`` the row's "column|empty text"."""
    columns = ", ".join(f"{name}: [[{json.dumps(value)}]]" for name, value in data.items())
    script = (f"const f = new Function('value', 'format', 'special_vars', 'source', 'signed', {json.dumps(PIXEL_FIELD)});\n"
              f"const source = {{data: {{{columns}}}}};\n"
              f"process.stdout.write(f(0.0, {json.dumps(fmt)}, {{image_index: {{index: 0, flat_index: 0}}}}, source, {json.dumps(signed)}));")
    return subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True, timeout=30).stdout


def _join_in_node(high: float, low: float, signed: bool) -> str:
    return _format_in_node({"id_hi": high, "id_lo": low}, "id|none", signed)


@pytest.mark.parametrize("kind", sorted(IDS))
def test_each_pixel_keeps_its_brightest_clusters_id_exactly(kind):
    raster = rasterize(_clusters(kind), "ra", "dec", *SKY, SKY, width=360, height=180, brightest_by="snr")
    ids = raster.brightest["id"]
    assert ids.dtype == np.dtype(kind)
    assert set(ids[raster.named].tolist()) == set(IDS[kind])
    data = raster.source_data()
    assert "id" not in data  # never as one float
    high, low = data["id_hi"][0], data["id_lo"][0]
    joined = {(int(h) << 32 | int(lo)) for h, lo in zip(high[raster.named], low[raster.named])}
    expected = {i % 2**64 for i in IDS[kind]}  # two's complement bits for negative int64 ids
    assert joined == expected and np.isnan(high[~raster.named]).all()


def test_a_missing_id_names_no_cluster():
    raster = rasterize(_clusters("int64", missing=True), "ra", "dec", *SKY, SKY, width=360, height=180,
                       brightest_by="snr")
    assert set(raster.brightest["id"][raster.named].tolist()) == set(IDS["int64"][:4])
    assert np.isfinite(raster.brightest["snr"]).sum() > raster.named.sum()  # the pixels drawn, id or not


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js runs the hover's formatter code")
@pytest.mark.parametrize("kind,value", [(k, v) for k in sorted(IDS) for v in IDS[k]])
def test_the_browsers_formatter_joins_the_halves_to_the_exact_id(kind, value):
    bits = value % 2**64
    assert _join_in_node(float(bits >> 32), float(bits & 0xFFFFFFFF), kind == "int64") == str(value)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js runs the hover's formatter code")
def test_the_formatter_says_none_where_no_cluster_is_named():
    assert _join_in_node(None, None, True) == "none"


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js runs the hover's formatter code")
@pytest.mark.parametrize("value,fmt,shown", [(None, "image|0", "0"), (None, "image|none", "none"), (3.0, "image|0", "3"),
                                             (0.4567, "image|none", "0.457"), (0.01234, "z|none", "1.234e-2")])
def test_an_empty_pixel_reads_as_its_empty_text_never_nan(value, fmt, shown):
    # JSON has no NaN: Bokeh sends an empty pixel's NaN as null inside a typed array, where it is NaN again.
    column = fmt.split("|")[0]
    assert _format_in_node({column: value}, fmt) == shown


def test_the_marker_hover_names_only_the_fields_the_catalog_has(viewer_data):
    from vizcache.config import load_config
    from vizcache.viewer.runtime import ViewerRuntime
    from vizcache.viewer.skymap import SkyMap

    from .conftest import make_config

    sky = SkyMap(runtime=ViewerRuntime(load_config(make_config(viewer_data, "hover-fields.toml")), sample_every=60), served=False)
    hover = sky.map.figure.marker_hover
    for catalog, absent in (("AMICO", set()), ("MEMBERS", {"SNR", "richness"})):
        sky.catalog = catalog
        frame = sky.frame
        ra, dec = float(frame["ra"].iloc[0]), float(frame["dec"].iloc[0])
        sky.set_view_ranges((ra - 0.05, ra + 0.05), (dec - 0.05, dec + 0.05))  # a few rows: markers
        assert len(sky.map.figure.marker_rows) > 0
        labels = {label for label, _ in hover.tooltips}
        assert not labels & absent and {"object", "RA", "Dec", "z"} <= labels | {"object"}
        text = [v for column in ("SNR", "richness") for v in sky.map.figure.markers.data[column]]
        assert "unknown" not in text or catalog == "AMICO"
