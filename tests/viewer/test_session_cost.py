"""What a new session pays for: no per-session work the user did not ask for."""

import holoviews as hv
import pytest

from vizcache.config import load_config
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap

from .conftest import make_config

hv.extension("bokeh")


pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest


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
    assert len(drawn) == 1 and f"id {int(target['id'])}" in list(sky._marker_points(sky.markers_version, "RA/Dec").data["object"])
    sky._range.event(x_range=(0.0, 360.0), y_range=(-90.0, 90.0))  # back to the whole sky: the markers go
    assert len(drawn) == 2 and len(sky._marker_points(sky.markers_version, "RA/Dec").data) == 0


def test_switching_the_pixel_hover_on_rebuilds_the_map_with_the_brightest_cluster_hover(runtime):
    def image_hover(plot):
        # the catalog layer: the image with a hover (the members' image below it has none)
        return next(p.handles["hover"].tooltips for p in plot.subplots.values()
                    if isinstance(p.current_frame, hv.Image) and p.handles.get("hover") is not None)

    sky = SkyMap(runtime=runtime, served=False)
    shown = sky._map.object
    plot = hv.renderer("bokeh").get_plot(shown)
    assert list(image_hover(plot)) == [("objects per pixel", "@{ra_dec Count}")]
    sky.pixel_hover = True
    assert list(image_hover(plot)) == [("objects per pixel", "@{ra_dec Count}")]  # a drawn map keeps its first hover tool
    assert sky._map.object is not shown  # so the map is rebuilt, with HoloViews' selector tooltip (count + brightest cluster)
    assert type(image_hover(hv.renderer("bokeh").get_plot(sky._map.object))).__name__ == "Div"
