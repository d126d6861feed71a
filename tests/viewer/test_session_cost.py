"""What a new session pays for: no per-session work the user did not ask for."""

import numpy as np
import pytest

from vizcache.config import load_config
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap

from .conftest import catalog_image, make_config


pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest


@pytest.fixture
def runtime(viewer_data, tmp_path):
    return ViewerRuntime(load_config(make_config(viewer_data, f"cost-{tmp_path.name}.toml")), sample_every=60)


def test_pixel_hover_is_opt_in(runtime):
    sky = SkyMap(runtime=runtime, served=False)
    assert set(catalog_image(sky)) == {"image", "x", "y", "dw", "dh"}  # one image, no brightest-cluster images
    sky.pixel_hover = True
    assert {"id", "z", "snr"} <= set(catalog_image(sky))


def test_markers_redraw_only_when_there_are_or_were_markers(runtime):
    sky = SkyMap(runtime=runtime, served=False)
    frame, _ = sky.view
    assert len(frame) > 2_000  # the whole sky: too many rows for markers
    drawn = []
    sky.param.watch(lambda event: drawn.append(event.new), "markers_version")
    sky._range.event(x_range=(0.0, 330.0), y_range=(-90.0, 90.0))  # still too many: the empty layer stays as it is
    assert int(sky.view[1].sum()) > 2_000
    sky.snr_range = (2.0, 60.0)
    assert int(sky.view[1].sum()) > 2_000 and drawn == []
    target = frame.loc[frame["snr"].idxmax()]
    sky._range.event(x_range=(target["ra"] - 1, target["ra"] + 1), y_range=(target["dec"] - 1, target["dec"] + 1))
    assert len(drawn) == 1 and f"id {int(target['id'])}" in " ".join(sky._figure.markers.data["object"])
    sky._range.event(x_range=(0.0, 360.0), y_range=(-90.0, 90.0))  # back to the whole sky: the markers go
    assert len(drawn) == 2 and len(sky._figure.markers.data["object"]) == 0


def test_switching_the_pixel_hover_on_names_the_brightest_cluster_in_the_drawn_maps_hover(runtime):
    sky = SkyMap(runtime=runtime, served=False)
    figure = sky._figure.figure
    assert sky._figure.pixel_hover.tooltips == [("objects per pixel", "@image")]
    sky.pixel_hover = True
    assert sky._map_pane.object is figure  # the same figure: its hover tool changes in place
    assert sky._figure.pixel_hover.tooltips[0] == ("objects per pixel", "@image")
    assert {"brightest: id", "brightest: snr"} <= {label for label, _ in sky._figure.pixel_hover.tooltips}
    snr = catalog_image(sky)["snr"]
    frame = sky.frame
    assert np.nanmax(snr) == frame["snr"].max()  # the brightest cluster of the brightest pixel is the catalog's brightest
    sky.pixel_hover = False
    assert sky._figure.pixel_hover.tooltips == [("objects per pixel", "@image")]
