"""The plain Bokeh sky map: its pixel hover over spread pixels, markers' selections, events of a
replaced figure, the order in which changes reach a served page, and the shared coordinate lines."""


import numpy as np
import pandas as pd
import pytest
from bokeh.core.serialization import Serializer
from bokeh.document import Document
from bokeh.document.events import ColumnsPatchedEvent, ColumnsStreamedEvent
from bokeh.events import RangesUpdate
from bokeh.models import MultiLine

from vizcache.config import load_config
from vizcache.viewer.graticule import GRID_STYLE, graticule, sky_lines
from vizcache.viewer.raster import PIXEL_HOVER, rasterize
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.sky_figure import SkyFigure
from vizcache.viewer.skymap import EXTENTS, SkyMap

from .conftest import catalog_image, make_config

pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest

SKY = ((0.0, 360.0), (-90.0, 90.0))


@pytest.fixture
def runtime(viewer_data, tmp_path):
    return ViewerRuntime(load_config(make_config(viewer_data, f"review-{tmp_path.name}.toml")), sample_every=60)


def served(runtime, **params):
    """A SkyMap as served: its figure in a document whose next-tick callbacks the test runs."""
    sky = SkyMap(runtime=runtime, served=True, **params)
    queued = []
    doc = Document()
    doc.add_root(sky.map.figure.figure)
    doc.add_next_tick_callback = queued.append
    return sky, queued


def run(queued, order=iter) -> None:
    callbacks = list(queued)
    queued.clear()
    for change in order(callbacks):
        change()


def test_the_pixel_hover_names_a_cluster_over_the_whole_disc_it_is_spread_to():
    # An isolated cluster is drawn as a disc of a few pixels (dynspread): each of them, not only the
    # centre, names it, as HoloViews spread the hover's columns with the image.
    clusters = pd.DataFrame({"ra": [100.0, 102.0, 250.0, 30.0, 180.0], "dec": [0.0, 0.0, 40.0, -50.0, 60.0],
                             "snr": [5.0, 9.0, 7.0, 3.0, 4.0], "id": [1, 2, 3, 4, 5], "z": [0.1, 0.2, 0.3, 0.4, 0.5],
                             "richness": [10.0, 20.0, 30.0, 40.0, 50.0]})
    raster = rasterize(clusters, "ra", "dec", *SKY, SKY, width=360, height=180, brightest_by="snr")  # 1° pixels
    drawn = np.isfinite(raster.image)
    assert drawn.sum() > 5 * 9  # spread: discs, not single pixels
    assert set(raster.brightest) == set(PIXEL_HOVER)
    for column in set(PIXEL_HOVER) - {"id"}:
        assert (np.isfinite(raster.brightest[column]) == drawn).all()
    assert (raster.named == drawn).all()
    ids = raster.brightest["id"]
    assert ids.dtype == np.int64 and set(np.unique(ids[drawn])) == {1, 2, 3, 4, 5}
    # Each cluster's own pixel names it; a pixel both discs reach names the brighter.
    assert ids[90, 100] == 1.0 and ids[90, 102] == 2.0 and ids[90, 101] == ids[90, 99] == 2.0
    assert (ids[127:134, 250] == 3.0).all() and (raster.brightest["snr"][127:134, 250] == 7.0).all()


def test_the_maps_pixel_hover_covers_every_pixel_drawn(runtime):
    sky = SkyMap(runtime=runtime, served=False, pixel_hover=True, snr_range=(15.0, 60.0))  # few clusters: spread
    image = catalog_image(sky)
    drawn = np.isfinite(image["image"])
    assert drawn.sum() > 9 * int(sky.view[1].sum())
    assert (np.isfinite(image["snr"]) == drawn).all() and np.nanmin(image["snr"]) >= 15.0


def test_a_selection_among_markers_since_replaced_selects_nothing(runtime):
    sky = SkyMap(runtime=runtime, served=False)
    frame, _ = sky.view
    target = frame.loc[frame["snr"].idxmax()]
    sky.set_view_ranges((target["ra"] - 5, target["ra"] + 5), (target["dec"] - 5, target["dec"] + 5))
    markers = sky.map.figure.markers
    assert len(markers.data["object"]) >= 2
    markers.selected.indices = [1]
    assert sky.table.title.object == "**1 row selected**"
    assert f"id {sky.table.widget.value['id'].iloc[0]}" in markers.data["object"][1]  # the marker's own row
    sky.set_view_ranges((0.0, 360.0), (-90.0, 90.0))  # too many rows for markers: none
    assert len(markers.data["object"]) == 0
    assert markers.selected.indices == []  # not left for the browser to ring other markers with
    assert sky.table.title.object == f"**{len(frame):,} rows in view**"
    markers.selected.indices = [0, 1, 2]  # a late selection among the old markers
    assert sky.table.title.object == f"**{len(frame):,} rows in view**"


def test_ranges_of_a_replaced_figure_are_not_taken_for_the_new_projections(runtime):
    sky = SkyMap(runtime=runtime, served=False)
    old = sky.map.figure.figure
    sky.projection = "all-sky"
    old._trigger_event(RangesUpdate(old, x0=200.0, x1=100.0, y0=0.0, y1=50.0))  # RA/Dec degrees, sent before the swap
    assert sky.ranges.x_range is None and sky.ranges.y_range is None
    image = catalog_image(sky)
    assert image["x"] == pytest.approx(EXTENTS["x_allsky"][0]) and np.isfinite(image["image"]).any()


def test_an_older_member_image_never_replaces_a_newer_one(runtime):
    sky, queued = served(runtime)
    sky.show_members = True  # (a SkyMap made with show_members=True loads no members: param runs no watcher for it)
    run(queued)
    sky.z_range = (0.0, 0.2)  # few members: the older image
    sky.z_range = (0.0, 3.0)  # all of them: the newer one
    run(queued, order=reversed)  # the older one arrives last
    unserved = SkyMap(runtime=runtime, served=False)
    unserved.show_members = True
    expected = unserved.map.figure.members.data["image"][0]
    assert np.nansum(sky.map.figure.members.data["image"][0]) == np.nansum(expected) > 0


def test_an_older_colour_scaling_never_replaces_a_newer_one(runtime):
    sky, queued = served(runtime)
    run(queued)
    sky.color_scaling = "eq_hist"
    sky.color_scaling = "linear"
    run(queued, order=reversed)
    assert type(sky.map.figure.mapper).__name__ == "LinearColorMapper"
    assert sky.map.figure.image.glyph.color_mapper is sky.map.figure.mapper


def test_an_older_highlight_never_replaces_a_newer_one(runtime):
    sky, queued = served(runtime)
    run(queued)
    sky.table.click(0)
    sky.table.click(1)  # the newer click
    run(queued, order=reversed)
    row = sky.view[0].iloc[sky.highlighted]
    assert float(row["id"]) == float(sky.table.widget.value["id"].iloc[1])  # the row clicked
    assert sky.map.figure.highlighted.data == {"ra": [float(row["ra"])], "dec": [float(row["dec"])]}


def test_a_clients_stream_or_patch_message_leaves_other_sessions_coordinate_lines_alone():
    # The lines are cached once per process and every session's figure shows them; a page's client
    # can send stream and patch messages for any data source in its document, which Bokeh applies.
    def figure():
        return SkyFigure("all-sky", ("x_allsky", "y_allsky"), (EXTENTS["x_allsky"], EXTENTS["y_allsky"]), ("x", "y"),
                         lambda *_: None, lambda *_: None)

    def grid(sky_figure):
        return next(r.data_source for r in sky_figure.figure.renderers
                    if isinstance(r.glyph, MultiLine) and r.glyph.line_color == GRID_STYLE["line_color"])

    expected = graticule("all-sky")
    theirs = figure()
    doc = Document()
    doc.add_root(theirs.figure)
    source = grid(theirs)
    serializer = Serializer(references=set(doc.models), deferred=False)

    def send(event) -> None:
        doc.apply_json_patch({"events": [event.to_serializable(serializer)]})

    with pytest.warns(UserWarning, match="immutable"):  # Bokeh declines to patch a tuple
        send(ColumnsPatchedEvent(Document(), source, "data", {"xs": [(0, np.zeros(2))]}))
    send(ColumnsStreamedEvent(Document(), source, "data", {"xs": [np.zeros(2)], "ys": [np.zeros(2)]}))
    assert len(source.data["xs"]) == len(expected) + 1  # their own session has what they sent
    send(ColumnsPatchedEvent(Document(), source, "data", {"xs": [(0, np.zeros(2))]}))  # now a list of their own
    with pytest.raises(ValueError, match="read-only"):
        send(ColumnsPatchedEvent(Document(), source, "data", {"ys": [((1, slice(0, 2)), np.zeros(2))]}))
    for lines in (sky_lines("all-sky")["grid"], grid(figure()).data):
        assert len(lines["xs"]) == len(expected)
        assert all(np.array_equal(x, line[:, 0]) and np.array_equal(y, line[:, 1])
                   for x, y, line in zip(lines["xs"], lines["ys"], expected))


def test_a_range_event_without_bounds_is_ignored_and_one_with_them_followed(runtime):
    sky = SkyMap(runtime=runtime, served=False)
    figure = sky.map.figure.figure
    figure._trigger_event(RangesUpdate(figure, x0=None, x1=None, y0=None, y1=None))  # a hostile or broken client
    assert sky.ranges.x_range is None
    figure._trigger_event(RangesUpdate(figure, x0=200.0, x1=100.0, y0=0.0, y1=50.0))
    assert (sky.ranges.x_range, sky.ranges.y_range) == ((100.0, 200.0), (0.0, 50.0))


def test_members_asked_for_at_construction_are_loaded_and_drawn(runtime):
    sky = SkyMap(runtime=runtime, served=False, show_members=True)
    assert sky.members_frame is not None and sky.map.figure.members.data["image"]


COMPILES_WHILE_DRAWING = """
import sys, threading
import numpy as np, pandas as pd
from numba.core import event
from vizcache.viewer import raster
if sys.argv[1] == "warm":
    raster.compile_kernels_in_background()
    next(t for t in threading.enumerate() if t.name == "vizcache-warm-up").join()
rng = np.random.default_rng(1)
frame = pd.DataFrame({c: rng.uniform(0, 1, 300) for c in ("z", "snr", "richness")})
frame["ra"], frame["dec"] = rng.uniform(0, 360, 300), rng.uniform(-90, 90, 300)
frame["x_allsky"], frame["y_allsky"] = rng.uniform(-2, 2, 300), rng.uniform(-1, 1, 300)
with event.install_recorder("numba:compile") as compiles:
    for (x, y), extents in ((("ra", "dec"), ((0.0, 360.0), (-90.0, 90.0))), (("x_allsky", "y_allsky"), ((-2.9, 2.9), (-1.5, 1.5)))):
        for column in (None, "snr", "z"):
            for zoom in (1, 8, 200):  # the whole map, then views sparse enough to spread 1-3 pixels
                box = [(lo, lo + (hi - lo) / zoom) for lo, hi in extents]
                raster.rasterize(frame, x, y, *box, extents, column=column, brightest_by="snr")
spreading = [e for _, e in compiles.buffer if e.is_start and "stencilled" in str(e.data["dispatcher"])]
print(len(spreading))
"""


def test_the_spreading_kernels_are_compiled_once_per_process_before_users_pan_and_zoom():
    # Fresh processes: this one has compiled them already. Without the warm-up, the same views
    # compile a spreading kernel per width and dtype (~0.2-0.3 s each) on the first pans and zooms.
    import subprocess
    import sys

    def compiles(mode: str) -> int:
        result = subprocess.run([sys.executable, "-c", COMPILES_WHILE_DRAWING, mode], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        return int(result.stdout.split()[-1])

    assert compiles("cold") > 0
    assert compiles("warm") == 0


def test_every_map_colour_shows_on_both_themes_backgrounds():
    from panel.theme.bootstrap import BootstrapDarkTheme

    from vizcache.viewer.sky_figure import BACKGROUNDS, MIN_CONTRAST, PALETTES, contrast

    # The dark background is the one Panel's dark theme gives the plot (?theme=dark), the light one white.
    assert BootstrapDarkTheme.bokeh_theme._json["attrs"]["Plot"]["background_fill_color"].lower() == BACKGROUNDS["dark"]
    for name, palette in PALETTES.items():
        worst = min(contrast(c, bg) for c in palette for bg in BACKGROUNDS.values())
        assert worst >= MIN_CONTRAST and len(palette) >= 128, (name, worst, len(palette))
    assert PALETTES["fire"][-1].lower() != "#ffffff" and PALETTES["fire"][0].lower() != "#000000"  # was white on white, black on grey
