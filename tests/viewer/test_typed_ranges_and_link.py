"""Typed ranges beside the sliders (bounds checked, one line naming the field and the interval) and the link
written whole from the map's state (catalog, filters, view, tab), readable by the same checks it is written for."""

import panel as pn
import pytest

from vizcache.config import load_config
from vizcache.viewer import url_state
from vizcache.viewer.range_inputs import TypedRange, range_problem
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap

from .conftest import make_config

pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest


@pytest.fixture
def sky(viewer_data, tmp_path):
    config = load_config(make_config(viewer_data, f"typed-{tmp_path.name}.toml"))
    return SkyMap(runtime=ViewerRuntime(config, sample_every=60), served=False, catalog="AMICO")


@pytest.mark.parametrize("field, value, message", [
    ("low", 99.0, "SNR range low: 99 is outside the allowed interval; allowed: 0 to 60"),
    ("high", 61.0, "SNR range high: 61 is outside the allowed interval; allowed: 0 to 60"),
    ("low", -1.0, "SNR range low: -1 is outside the allowed interval; allowed: 0 to 60"),
    ("low", 50.0, "SNR range: low 50 is above high 40; allowed: 0 to 60, low <= high"),
    ("low", None, "SNR range low: a number is needed; allowed: 0 to 60"),
    ("low", float("nan"), "SNR range low: a number is needed; allowed: 0 to 60"),
    ("high", float("inf"), "SNR range high: a number is needed; allowed: 0 to 60"),
])
def test_a_typed_value_that_does_not_fit_is_named_with_the_interval_and_not_applied(sky, field, value, message):
    notes = []
    typed = TypedRange(model=sky, parameter="snr_range", notify=notes.append)
    sky.snr_range = (6.0, 40.0)
    getattr(typed, field).value = value
    assert notes == [message]
    assert sky.snr_range == (6.0, 40.0) and (typed.low.value, typed.high.value) == (6.0, 40.0)  # the inputs show the range in force


def test_typed_values_edit_the_same_range_as_the_slider(sky):
    notes = []
    typed = TypedRange(model=sky, parameter="z_range", notify=notes.append)
    typed.high.value = 0.5
    typed.low.value = 0.25
    assert sky.z_range == (0.25, 0.5) and notes == []
    assert sky.view is not None and sky.view[1].sum() == ((sky.frame["z"].between(0.25, 0.5)) | sky.frame["z"].isna()).sum()
    sky.z_range = (1.0, 2.0)  # the slider moved: the inputs follow
    assert (typed.low.value, typed.high.value) == (1.0, 2.0)
    assert range_problem("Redshift range", 0.0, 3.0, (0.0, 3.0)) is None


def test_the_link_is_made_whole_from_the_state_and_opens_the_same_state(sky, monkeypatch):
    monkeypatch.setattr(pn.state, "onload", lambda callback, threaded=False: callback())
    sky.param.update(snr_range=(6.000000001, 40.0), keep_unknown_z=False, z_range=(0.1, 2.0), where="snr > 7 & z < 1")
    sky.set_view_ranges((300.0, 330.0), (-30.0, 10.0))
    link = url_state.query(sky)
    assert link["catalog"] == "AMICO" and link["keep_unknown_z"] == "false" and link["view"] == "330,300,-30,10"
    assert link["snr"] == "[6.000000001, 40.0]"  # every digit: the reopened filter is the same
    other = SkyMap(runtime=sky.runtime, served=False, catalog=link["catalog"])
    notes, moves = [], []
    monkeypatch.setattr(other, "move_to", lambda x, y: moves.append((tuple(x), tuple(y))))
    url_state.restore(other, {k: [v.encode()] for k, v in link.items()}, notes.append)
    assert notes == [] and moves == [((330.0, 300.0), (-30.0, 10.0))]
    assert {n: getattr(other, n) for n in url_state.PARAMS.values()} == {n: getattr(sky, n) for n in url_state.PARAMS.values()}
    sky.projection = "all-sky"  # the new projection's view is its whole sky: the old box is not kept
    assert "view" not in url_state.query(sky)


def test_the_tab_is_in_the_link_and_a_bad_one_is_named(sky):
    tabs = pn.Tabs(("Sky map", pn.pane.Markdown("a")), ("Finder comparison", pn.pane.Markdown("b")))
    assert "tab" not in url_state.query(sky, tabs)
    tabs.active = 1
    assert url_state.query(sky, tabs)["tab"] == "Finder comparison"
    opened, notes = pn.Tabs(*tabs.objects), []
    opened._names = list(tabs._names)
    url_state.restore_tab(opened, {"tab": [b"Finder comparison"]}, notes.append)
    assert opened.active == 1 and notes == []
    url_state.restore_tab(opened, {"tab": [b"<b>x</b>"]}, notes.append)
    assert notes == ["Ignored tab='<b>x</b>' in the URL: use one of Sky map, Finder comparison"] and opened.active == 1
