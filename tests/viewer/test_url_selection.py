"""The selection and the coverage outline in the link: a link written with a selection opens with the
same clusters selected (after its view, which would clear a selection), and a hostile ``select=`` or
``coverage=`` is named once and left out."""

import panel as pn
import pytest

from vizcache.config import load_config
from vizcache.viewer import url_state
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap

from .conftest import make_config

pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest


@pytest.fixture
def new_map(viewer_data, tmp_path, monkeypatch):
    monkeypatch.setattr(pn.state, "onload", lambda callback, threaded=False: callback())
    config = load_config(make_config(viewer_data, f"sel-{tmp_path.name}.toml"))
    return lambda: SkyMap(runtime=ViewerRuntime(config, sample_every=60), served=False)


def _zoom_to_few(sky) -> None:
    frame = sky.frame
    target = frame.loc[frame["snr"].idxmax()]
    ra, dec = float(target["ra"]), float(target["dec"])
    for half in (2.0, 5.0, 10.0, 20.0):
        sky.move_to((ra + half, ra - half), (dec - half / 2, dec + half / 2))
        if len(sky.map.figure.marker_rows) >= 3:
            break
    assert 3 <= len(sky.map.figure.marker_rows) <= 2000


def _open(sky, query: dict) -> list[str]:
    notices = []
    url_state.restore(sky, {k: [str(v).encode()] for k, v in query.items()}, notices.append)
    return notices


def test_a_links_selection_opens_selected_after_its_view(new_map):
    sky = new_map()
    _zoom_to_few(sky)
    markers = sky.map.figure.marker_rows
    sky.map.figure.markers.selected.indices = [0, 2]  # as a box selection in the browser would
    frame = sky.view[0]
    chosen = sorted(int(i) for i in frame["id"].iloc[markers[[0, 2]]])
    link = url_state.query(sky)
    assert link["select"] == ",".join(map(str, sorted(chosen)))
    other = new_map()
    assert _open(other, link) == []
    assert sorted(int(i) for i in other.view[0]["id"].iloc[other.selection]) == chosen
    assert sorted(other.map.figure.marker_rows[other.map.figure.markers.selected.indices].tolist()) == sorted(other.selection.tolist())
    assert url_state.query(other) == link  # the reopened page writes the same link


def test_ids_no_longer_in_view_are_named(new_map):
    sky = new_map()
    _zoom_to_few(sky)
    link = url_state.query(sky)
    told = []
    other = new_map()
    other.notify = told.append
    assert _open(other, {**link, "select": "123456789012,987654321098"}) == []
    assert other.selection is None and told == ["2 of the 2 clusters selected in the link are not on the map now"]


def test_the_coverage_outline_is_in_the_link(new_map):
    sky = new_map()
    assert "coverage" not in url_state.query(sky)
    sky.map.coverage.toggle.value = True
    link = url_state.query(sky)
    assert link["coverage"] == "true"
    other = new_map()
    assert _open(other, link) == [] and other.map.coverage.toggle.value
    assert other.map.figure.coverage_renderer.visible and len(other.map.figure.coverage.data["xs"]) > 0


@pytest.mark.parametrize("text", ["", "1,,2", "1,2,", "x", "1;2", "--1", "1.5", "18446744073709551616", "-9223372036854775809",
                                  "1" * 21, ",".join(["7"] * 2001), "[" * 5000, "1," * 30000 + "1", "<script>"])
def test_a_bad_selection_is_named_once_and_nothing_is_selected(new_map, text):
    sky = new_map()
    notices = _open(sky, {"select": text})
    assert len(notices) == 1 and notices[0].startswith("Ignored select=") and "at most 2000 cluster ids" in notices[0]
    assert len(notices[0]) < 300 and sky.map._pending_selection is None and sky.selection is None


@pytest.mark.parametrize("text", ["1", "True", "yes", "[" * 5000])
def test_a_bad_coverage_value_is_named_once(new_map, text):
    sky = new_map()
    notices = _open(sky, {"coverage": text})
    assert len(notices) == 1 and notices[0].startswith("Ignored coverage=") and "use true or false" in notices[0]
    assert not sky.map.coverage.toggle.value
