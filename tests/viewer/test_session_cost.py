"""What a new session pays for: no per-session work the user did not ask for."""

import numpy as np
import pandas as pd
import panel as pn
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
    assert {"id_hi", "id_lo", "z", "snr"} <= set(catalog_image(sky))


def test_markers_redraw_only_when_there_are_or_were_markers(runtime):
    sky = SkyMap(runtime=runtime, served=False)
    frame, _ = sky.view
    assert len(frame) > 2_000  # the whole sky: too many rows for markers
    drawn = []
    show_markers = sky.map.figure.show_markers
    sky.map.figure.show_markers = lambda data, rows, selected=(): (
        drawn.append(len(rows)), show_markers(data, rows, selected))
    sky.set_view_ranges((0.0, 330.0), (-90.0, 90.0))  # still too many: the empty layer stays as it is
    assert int(sky.view[1].sum()) > 2_000
    sky.snr_range = (2.0, 60.0)
    assert int(sky.view[1].sum()) > 2_000 and drawn == []
    target = frame.loc[frame["snr"].idxmax()]
    sky.set_view_ranges((target["ra"] - 1, target["ra"] + 1), (target["dec"] - 1, target["dec"] + 1))
    assert len(drawn) == 1 and f"id {int(target['id'])}" in " ".join(sky.map.figure.markers.data["object"])
    sky.set_view_ranges((0.0, 360.0), (-90.0, 90.0))  # back to the whole sky: the markers go
    assert len(drawn) == 2 and len(sky.map.figure.markers.data["object"]) == 0


def test_switching_the_pixel_hover_on_names_the_brightest_cluster_in_the_drawn_maps_hover(runtime):
    sky = SkyMap(runtime=runtime, served=False)
    figure = sky.map.figure.figure
    assert sky.map.figure.pixel_hover.tooltips == [("objects per pixel", "@{x}{image|0}")]
    sky.pixel_hover = True
    assert sky.map.pane.object is figure  # the same figure: its hover tool changes in place
    assert sky.map.figure.pixel_hover.tooltips[0] == ("objects per pixel", "@{x}{image|0}")
    assert {"brightest: id", "brightest: snr"} <= {label for label, _ in sky.map.figure.pixel_hover.tooltips}
    snr = catalog_image(sky)["snr"]
    frame = sky.frame
    assert np.nanmax(snr) == frame["snr"].max()  # the brightest cluster of the brightest pixel is the catalog's brightest
    sky.pixel_hover = False
    assert sky.map.figure.pixel_hover.tooltips == [("objects per pixel", "@{x}{image|0}")]



def test_the_image_goes_out_as_float32_and_counts_stay_exact(runtime):
    # Every session's first message carries the image: float32 halves it, and counts stay exact
    # (float32 holds every integer below 2**24).
    from vizcache.viewer.raster import rasterize

    dense = pd.DataFrame({"ra": np.r_[np.full(1_000_003, 10.5), [200.5]], "dec": np.r_[np.full(1_000_003, 0.5), [40.5]]})
    raster = rasterize(dense, "ra", "dec", (0.0, 360.0), (-90.0, 90.0), ((0.0, 360.0), (-90.0, 90.0)), width=360, height=180)
    assert raster.image.dtype == np.float32
    assert np.nanmax(raster.image) == 1_000_003 and np.nanmin(raster.image) == 1
    sky = SkyMap(runtime=runtime, served=False)
    assert catalog_image(sky)["image"].dtype == np.float32


FIRST_PAGE_IMPORTS = r"""
import sys
import panel as pn
from bokeh.document import Document
from panel.io.state import set_curdoc
pn.extension("tabulator", notifications=True)
from vizcache.memory import freeze_startup_heap
from vizcache.viewer.app import create_app, prepare_server_process
prepare_server_process() if sys.argv[1] == "prepared" else freeze_startup_heap()
before = set(sys.modules)
with set_curdoc(Document()):
    create_app().server_doc(pn.state.curdoc)
print(len(set(sys.modules) - before))  # modules the first page imported after the freeze
"""


def test_a_served_process_freezes_what_its_first_page_would_import(viewer_data, tmp_path):
    # A collection walks everything not frozen: freezing before the first page's lazy imports and
    # numba compiles left ~135,000 objects to walk at every session's end (~70 ms, not ~8 ms).
    import os
    import subprocess
    import sys

    env = os.environ | {"VIZCACHE_CONFIG": str(make_config(viewer_data, f"freeze-{tmp_path.name}.toml"))}
    imported = {how: int(subprocess.run([sys.executable, "-c", FIRST_PAGE_IMPORTS, how], env=env, capture_output=True, text=True,
                                        timeout=300, check=True).stdout.split()[-1]) for how in ("prepared", "frozen-only")}
    assert imported["frozen-only"] > 200 and imported["prepared"] < imported["frozen-only"] / 10, imported


def test_switches_and_zooms_re_index_none_of_the_pages_models(runtime):
    # A change that puts new models in a page makes Bokeh walk all of them again (~0.1 s each with the
    # table and histograms): the part below the map re-rendered on every change of the map's parameters,
    # the CSV button's description was a new tooltip per view and the table's formatters new columns per
    # catalog: ~1 s of the server's thread per switch. Markers shown or hidden swapped the pixel hover's
    # renderers, which are models: ~80 ms more at every zoom into or out of markers.
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    sky = SkyMap(runtime=runtime, served=False)
    doc = Document()
    with set_curdoc(doc):
        pn.panel(sky).server_doc(doc)
        pn.state._on_load(doc)  # the browser's "document ready": what is below the map is made
    assert sky.table.widget._models, "the table is in the page"
    walks = []
    recompute = doc.models.recompute
    doc.models.recompute = lambda: (walks.append(1), recompute())
    with set_curdoc(doc):
        for catalog in ("PZWAV", "AMICO", "BOTH"):
            sky.catalog = catalog
            assert sky.table.title.object.endswith("in view**")
        sky.set_view_ranges((0.0, 330.0), (-90.0, 90.0))  # still too many rows for markers
        assert int(sky.view[1].sum()) > 2_000
        ra, dec = (float(sky.frame[c].iloc[0]) for c in ("ra", "dec"))
        sky.set_view_ranges((ra - 5, ra + 5), (dec - 5, dec + 5))  # markers
        assert 0 < int(sky.view[1].sum()) <= 2_000, int(sky.view[1].sum())
        assert len(sky.map.figure.marker_rows) > 0 and sky.map.figure.pixel_hover.tooltips is None
        sky.set_view_ranges((0.0, 360.0), (-90.0, 90.0))  # no markers: the pixel hover is back
        assert len(sky.map.figure.marker_rows) == 0 and sky.map.figure.pixel_hover.tooltips
    assert walks == []


def test_a_page_adds_no_process_wide_busy_indicator(viewer_data, tmp_path, monkeypatch):
    # Panel's "busy" is one flag per process, and every indicator it knows is updated whenever any session's
    # callback starts or ends: with N pages open, N updates per callback (~12 % of the server at 20 sessions).
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from vizcache.viewer.app import create_app

    monkeypatch.setenv("VIZCACHE_CONFIG", str(make_config(viewer_data, f"busy-{tmp_path.name}.toml")))
    before = len(pn.state._indicators)
    for _ in range(3):
        doc = Document()
        with set_curdoc(doc):
            create_app().server_doc(doc)
        assert any(m.__view_model__ == "Figure" for m in doc.models), "a page with its map"
    assert len(pn.state._indicators) == before
