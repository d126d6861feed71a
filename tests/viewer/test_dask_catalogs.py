"""A Dask-backed cluster catalog renders (HoloViews' hover where-summary used to crash on Dask frames)."""

import numpy as np
import pytest

from vizcache.config import load_config
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap

from .conftest import CONFIG, catalog_image, make_config

DASK_CLUSTERS = '''
[catalogs.BOTH_DASK]
files = "data/small/both.parquet"
backend = "dask"
'''


pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest


def test_dask_cluster_catalog_renders_in_every_colouring(viewer_data, tmp_path):
    config = load_config(make_config(viewer_data, f"dask-{tmp_path.name}.toml", CONFIG + DASK_CLUSTERS))
    sky = SkyMap(runtime=ViewerRuntime(config, sample_every=60), served=False, catalog="BOTH_DASK")
    assert type(sky.frame).__module__.startswith("dask")
    for color_by in ("density", "mean SNR", "mean redshift"):
        sky.color_by = color_by
        assert np.isfinite(catalog_image(sky)["image"]).any(), color_by


def test_a_dask_catalogs_view_goes_into_the_url(viewer_data, tmp_path):
    # No rows in view (out of core), but the view box is shared like any other catalog's.
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from vizcache.viewer import url_state

    config = load_config(make_config(viewer_data, f"dask-url-{tmp_path.name}.toml", CONFIG + DASK_CLUSTERS))
    with set_curdoc(Document()):
        import panel as pn

        sky = SkyMap(runtime=ViewerRuntime(config, sample_every=60), served=False, catalog="BOTH_DASK")
        url_state.follow(sky)
        sky.set_view_ranges((100.0, 200.0), (0.0, 50.0))
        assert sky.view is None and "view=200%2C100%2C0%2C50" in pn.state.location.search
