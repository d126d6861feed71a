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
