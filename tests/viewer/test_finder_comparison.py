"""The finder comparison view on the generated PZWAV and AMICO (which carry their true pairs)."""

import holoviews as hv
import numpy as np
import pytest

from vizcache.catalogs.crossmatch import MATCHED, ONLY_A, ONLY_B
from vizcache.config import load_config
from vizcache.viewer.finder_comparison import FinderComparison
from vizcache.viewer.runtime import ViewerRuntime

from .conftest import make_config

hv.extension("bokeh")  # as a served page does: the view's options are Bokeh's


@pytest.fixture
def runtime(viewer_data, tmp_path):
    return ViewerRuntime(load_config(make_config(viewer_data, f"fc-{tmp_path.name}.toml")))


def test_comparison_counts_match_the_truth_and_follow_the_settings(runtime):
    view = FinderComparison(runtime=runtime)
    assert (view.catalog_a, view.catalog_b) == ("PZWAV", "AMICO")
    assert "MEMBERS" not in view.param.catalog_a.objects  # cluster catalogs only
    match = view.result()
    truth = runtime.load("PZWAV").data["cross_id"].to_numpy()
    assert match.counts[MATCHED] == pytest.approx(np.isfinite(truth).sum(), rel=0.02)
    assert view.result() is match  # once per settings
    view.radius_arcsec = 30.0
    assert view.result().counts[MATCHED] < match.counts[MATCHED]


def test_every_part_renders_with_counts_in_the_legend(runtime):
    view = FinderComparison(runtime=runtime)
    settings = (view.catalog_a, view.catalog_b, view.radius_arcsec, view.dz)
    counts = view.result().counts
    figure = hv.render(view._map(view.shown_classes, *settings))
    # datashade's legend: one item whose labels are the categories of a small source
    labels = [label for legend in figure.legend for item in legend.items for r in item.renderers for label in r.data_source.data[item.label.field]]
    assert labels == [f"matched ({counts[MATCHED]:,})", f"only PZWAV ({counts[ONLY_A]:,})", f"only AMICO ({counts[ONLY_B]:,})"]
    assert view._separations(*settings).data["pairs"].sum() == counts[MATCHED]
    for column, bins, label in (("z", np.linspace(0, 2, 6), "redshift"), ("snr", np.array([3.0, 6, 10, 60]), "SNR")):
        hv.render(view._rates(column, bins, label, *settings))
    table = view._table(ONLY_B, *settings)
    assert set(table.value["match"]) == {ONLY_B} and len(table.value) == counts[ONLY_B]
    assert f"{counts[MATCHED]:,} matched" in view._summary(*settings).object
