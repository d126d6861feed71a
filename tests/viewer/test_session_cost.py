"""What a new session pays for: no per-session work the user did not ask for."""

import sys

import holoviews as hv
import pytest

from vizcache.config import load_config
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap

from .conftest import make_config

hv.extension("bokeh")


@pytest.fixture(autouse=True)
def no_served_document(monkeypatch):
    """In-process server tests leave Bokeh's current document pointing at a session; not ours."""
    monkeypatch.setattr(sys.modules["panel.io.state"], "curdoc_locked", lambda: None)


@pytest.fixture
def runtime(viewer_data, tmp_path):
    return ViewerRuntime(load_config(make_config(viewer_data, f"cost-{tmp_path.name}.toml")), sample_every=60)


def catalog_image(skymap):
    return [el for el in skymap._map.object[()] if isinstance(el, hv.Image)][-1]


def test_pixel_hover_is_opt_in(runtime):
    sky = SkyMap(runtime=runtime, served=False)
    assert set(catalog_image(sky).data.data_vars) == {"ra_dec Count"}  # one image, no brightest-cluster images
    sky.pixel_hover = True
    assert {"id", "z", "snr"} <= set(catalog_image(sky).data.data_vars)
