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


def test_the_sidebar_filters_narrow_both_catalogs_before_matching(runtime):
    from vizcache.catalogs.crossmatch import crossmatch
    from vizcache.viewer.skymap import SkyMap

    sky = SkyMap(runtime=runtime, served=False)
    view = FinderComparison(runtime=runtime, skymap=sky)
    everything = view.result().counts
    sky.param.update(z_range=(0.4, 0.9), keep_unknown_z=False, where="snr > 5")
    a, b = runtime.load("PZWAV").data, runtime.load("AMICO").data
    kept = lambda f: f[(f["z"] >= 0.4) & (f["z"] <= 0.9) & (f["snr"] > 5)].reset_index(drop=True)  # noqa: E731
    expected = crossmatch(kept(a), kept(b))
    match = view.result()
    assert match.counts == expected.counts and len(match.a) == len(kept(a)) < len(a)
    # The filtered rows it holds are its own: counted in its cache entry's size (the whole catalogs are entries of their own).
    entry = next(e for e in runtime.cache.entries() if "matches" in e["key"].parts and "no filter" not in e["key"].parts)
    assert entry["reported_bytes"] >= match.a.memory_usage(deep=True).sum() + match.b.memory_usage(deep=True).sum()
    assert match.counts[MATCHED] < everything[MATCHED]
    summary = view._summary("PZWAV", "AMICO", view.radius_arcsec, view.dz).object
    assert "narrowed by the sidebar's filters" in summary and r"z 0\.4\-0\.9" in summary  # as Markdown text
    assert "SNR is each finder's own quantity" in summary  # PZWAV's and AMICO's SNR are not alike


def test_any_two_configured_cluster_catalogs_compare(viewer_data, tmp_path):
    from tests.catalogs.psz2 import PSZ2_MAPPING, write_psz2

    write_psz2(viewer_data / "data" / "psz2.fits", n=400)
    config = make_config(viewer_data, f"psz2-{tmp_path.name}.toml")
    config.write_text(config.read_text() + PSZ2_MAPPING.replace("psz2.fits", "data/psz2.fits"))
    runtime = ViewerRuntime(load_config(config))
    view = FinderComparison(runtime=runtime, catalog_a="PSZ2", catalog_b="AMICO")
    assert set(view.param.catalog_a.objects) >= {"PZWAV", "AMICO", "BOTH", "PSZ2"}
    match = view.result()
    assert len(match.a) == 400 and match.counts[ONLY_A] + match.counts[MATCHED] == 400
    table = view._table("all", "PSZ2", "AMICO", view.radius_arcsec, view.dz)
    assert set(table.value.columns) >= {"id PSZ2", "id AMICO"}
    assert (table.value.loc[table.value["match"] == ONLY_B, "id PSZ2"] == "").all()  # an unmatched id is empty, never -1
