"""The "Coverage (MOC)" toggle of the sky map: off by default, the outline of the catalog shown when on."""

import io

import astropy.units as u
import numpy as np
import pytest
from mocpy import MOC

from vizcache.catalogs.coverage import area_deg2, catalog_moc, catalog_outline
from vizcache.config import load_config
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap

from .conftest import make_config

pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest


@pytest.fixture
def sky(viewer_data, tmp_path):
    runtime = ViewerRuntime(load_config(make_config(viewer_data, f"coverage-{tmp_path.name}.toml")), sample_every=60)
    return SkyMap(runtime=runtime, served=False)


def drawn(sky):
    figure = sky.map.figure
    return figure.coverage_renderer.visible, figure.coverage.data


def test_off_by_default_then_drawn_then_gone(sky, tmp_path):
    layer = sky.map.coverage
    assert drawn(sky) == (False, {"xs": [], "ys": []}) and layer.area.object == "" and not layer.download.visible
    layer.toggle.value = True
    visible, data = drawn(sky)
    catalog = sky.runtime.load(sky.shown)
    expected = catalog_outline(catalog, "RA/Dec")
    assert visible and len(data["xs"]) == len(expected) > 0
    assert all(np.array_equal(x, p[:, 0]) for x, p in zip(data["xs"], expected))
    assert layer.area.object == f"{area_deg2(catalog_moc(catalog)):,.1f} deg²"
    # The download is the MOC as FITS, holding every row of the catalog.
    path = tmp_path / "moc.fits"
    path.write_bytes(layer._fits().getvalue())
    moc = MOC.load(str(path), format="fits")
    assert moc.contains_lonlat(catalog.data["ra"].to_numpy() * u.deg, catalog.data["dec"].to_numpy() * u.deg).all()
    layer.toggle.value = False
    assert drawn(sky) == (False, {"xs": [], "ys": []}) and layer.area.object == ""


def test_follows_the_projection_and_the_catalog(sky):
    sky.map.coverage.toggle.value = True
    sky.projection = "all-sky"
    visible, data = drawn(sky)
    assert visible and max(np.abs(x).max() for x in data["xs"]) <= 2 * np.sqrt(2) + 1e-9  # Hammer-Aitoff x, not RA
    other = next(n for n in sky.param.catalog.objects if n != sky.catalog)
    sky.catalog = other
    expected = catalog_outline(sky.runtime.load(other), "all-sky")
    assert len(drawn(sky)[1]["xs"]) == len(expected)
    assert isinstance(sky.map.coverage._fits(), io.BytesIO)
