"""SkyMap without a server: switching through the cache, re-aggregation, filters, errors, hover."""

import time

import datashader as ds
import numpy as np
import panel as pn
import pytest

from vizcache.config import load_config
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap

from .conftest import catalog_image, make_config

pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest


@pytest.fixture
def runtime(viewer_data, tmp_path):
    config = load_config(make_config(viewer_data, f"skymap-{tmp_path.name}.toml"))
    return ViewerRuntime(config, sample_every=60)


def test_switching_goes_through_the_cache_and_revisits_hit(runtime):
    sky = SkyMap(runtime=runtime, served=False)
    assert sky.catalog == "BOTH" and len(sky.frame) > 1000
    sky.catalog = "AMICO"
    started = time.perf_counter()
    sky.catalog = "BOTH"
    took = time.perf_counter() - started
    stats = runtime.cache.stats()
    assert (stats["loads"], stats["hits"]) == (2, 1)
    assert np.isfinite(catalog_image(sky)["image"]).any()  # drawing the new aggregate ends the switch
    assert 0 < sky.last_switch_seconds <= took  # the last switch's own time, measured inside it


def test_colormap_and_opacity_do_not_reaggregate(runtime, monkeypatch):
    calls = []
    original = ds.Canvas.points
    monkeypatch.setattr(ds.Canvas, "points", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    sky = SkyMap(runtime=runtime, served=False)
    catalog_image(sky)
    before = len(calls)
    sky.cmap = "kbc"
    sky.opacity = 0.5
    sky.color_scaling = "eq_hist"
    catalog_image(sky)
    assert len(calls) == before  # re-coloured, not re-aggregated
    sky.color_by = "mean SNR"
    assert len(calls) > before and sky.aggregation == "mean"
    assert sky.map.figure.colour_bar.title == "mean snr per pixel"
    assert type(sky.map.figure.mapper).__name__ == "EqHistColorMapper" and sky.map.figure.image.glyph.global_alpha == 0.5


def test_hover_carries_the_brightest_clusters_id_z_and_snr(runtime):
    image = catalog_image(SkyMap(runtime=runtime, served=False, pixel_hover=True))
    assert {"id_hi", "id_lo", "z", "snr"} <= set(image)
    assert np.isfinite(image["snr"]).any() and image["snr"].shape == image["image"].shape


def test_color_by_falls_back_to_density_without_the_column(runtime):
    sky = SkyMap(runtime=runtime, served=False, catalog="MEMBERS", color_by="mean SNR")
    assert sky.aggregation == "count"
    sky.color_by = "mean redshift"  # members have z_phot
    assert sky.aggregation == "mean" and sky.color_column() == "z_phot"


def test_filters_narrow_the_view_and_table(runtime):
    sky = SkyMap(runtime=runtime, served=False)
    frame, mask = sky.view
    assert mask is None and sky.table.title.object.startswith(f"**{len(frame):,} rows")
    sky.snr_range = (8.0, 60.0)
    frame, mask = sky.view
    expected = int((frame["snr"] >= 8.0).sum())
    assert mask.sum() == expected and f"**{expected:,} rows in view**" in sky.table.title.object
    assert len(sky.table.widget.value) and (sky.table.widget.value["snr"] >= 8.0).all()
    sky.set_view_ranges((100.0, 200.0), (0.0, 60.0))
    _, boxed = sky.view
    inside = (frame["ra"] >= 100) & (frame["ra"] <= 200) & (frame["dec"] >= 0) & (frame["dec"] <= 60) & (frame["snr"] >= 8)
    assert boxed.sum() == inside.sum() < expected
    assert sky.table.csv().getvalue().count("\n") == min(int(inside.sum()), 100_000) + 1


def test_table_is_paged_on_the_server_one_page_at_a_time(runtime):
    from vizcache.viewer.table_view import PAGE_ROWS

    sky = SkyMap(runtime=runtime, served=False)
    sky.snr_range = (8.0, 60.0)
    frame, mask = sky.view
    rows = np.flatnonzero(mask)
    assert len(sky.table.widget.value) == PAGE_ROWS  # one page, not the rows in view
    assert sky.table.pager.end == -(-len(rows) // PAGE_ROWS)
    sky.table.next.clicks += 1
    # ids go to the browser as text (exact beyond 2**53)
    assert sky.table.page == 2 and list(sky.table.widget.value["id"]) == [str(i) for i in frame["id"].iloc[rows[PAGE_ROWS:2 * PAGE_ROWS]]]
    sky.table.pager.value = sky.table.pager.end
    assert 1 <= len(sky.table.widget.value) <= PAGE_ROWS and sky.table.widget.value["id"].iloc[-1] == str(frame["id"].iloc[rows[-1]])
    sky.snr_range = (9.0, 60.0)  # a new view starts at its first page
    assert sky.table.page == 1 and len(sky.table.widget.value) == PAGE_ROWS


def test_broken_catalog_is_reported_and_the_view_stays(runtime):
    messages = []
    sky = SkyMap(runtime=runtime, served=False, notify=messages.append)
    sky.catalog = "BROKEN"
    assert sky.catalog == "BOTH" and len(sky.frame) > 0  # reverted: the other catalogs keep working
    assert len(messages) == 1 and "broken.parquet" in messages[0] and "not a readable Parquet file" in messages[0]
    assert runtime.cache.stats()["load_failures"] == 1


def test_ra_increases_to_the_left_only_in_ra_dec(runtime):
    sky = SkyMap(runtime=runtime, served=False)

    def inverted():
        x = sky.map.figure.figure.x_range
        return x.start > x.end

    assert inverted() is True  # RA grows to the left, as on the sky
    assert sky.map.figure.figure.xaxis[0].axis_label == "RA [deg]"
    sky.projection = "all-sky"  # a new plot with new axes
    assert sky.map.figure.figure.xaxis[0].axis_label.startswith("Hammer-Aitoff x")
    assert inverted() is False  # Hammer-Aitoff x already grows to the left
    assert catalog_image(sky)["x"] == pytest.approx(-2 * 2**0.5) and np.isfinite(catalog_image(sky)["image"]).any()


def test_member_overlay_loads_through_the_cache(runtime):
    sky = SkyMap(runtime=runtime, served=False)
    sky.show_members = True
    assert sky.members_frame is not None and "z_phot" in sky.members_frame.columns
    assert any(k[0] == "MEMBERS" for k in (e["key"] for e in runtime.cache.entries()))


def test_report_list_reads_only_report_folders(tmp_path):
    from vizcache.viewer.reports import ReportList, find_reports

    good = tmp_path / "reports" / "ab"
    good.mkdir(parents=True)
    (good / "summary.md").write_text("# vizcache compare: ab\n\n## Verdict\n\n* hit ratio: best rss (0.9)\n* peak RSS: best deep (100 MiB)\n")
    (good / "report.html").write_text("<html></html>")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "summary.md").write_text("# secret\n")
    (tmp_path / "outside" / "report.html").write_text("x")
    (tmp_path / "reports" / "link").symlink_to(tmp_path / "outside")
    found = find_reports(tmp_path / "reports")
    assert [r["name"] for r in found] == ["ab"]
    assert found[0]["verdicts"] == ["hit ratio: best rss (0.9)", "peak RSS: best deep (100 MiB)"]
    shown = ReportList(folder=tmp_path / "reports").__panel__()
    card = shown[2]
    assert shown.visible and card.title == "vizcache compare: ab" and "* hit ratio: best rss \\(0\\.9\\)" in card[0].object  # shown as text
    # Nothing to list: no section at all (and no server path shown to the page's users).
    assert not ReportList(folder=None).__panel__().visible
    assert not ReportList(folder=tmp_path / "outside" / "none").__panel__().visible


def test_catalog_choices_belong_to_each_instance(runtime, viewer_data, tmp_path):
    from .conftest import CONFIG

    other = load_config(make_config(viewer_data, f"other-{tmp_path.name}.toml", CONFIG.replace("[catalogs.PZWAV]", "[catalogs.ONLY_HERE]")))
    a = SkyMap(runtime=runtime, served=False)
    b = SkyMap(runtime=ViewerRuntime(other, sample_every=60), served=False)
    assert "PZWAV" in a.param.catalog.objects and "ONLY_HERE" not in a.param.catalog.objects
    assert "ONLY_HERE" in b.param.catalog.objects and "PZWAV" not in b.param.catalog.objects
    assert SkyMap.param.catalog.objects == []


def test_monitor_separates_cache_owned_memory_from_the_rest_of_the_process(runtime):
    from vizcache.viewer.monitor import CacheMonitor, MiB

    SkyMap(runtime=runtime, served=False)  # a catalog in the cache
    # Its RSS delta can be 0 (memory freed by earlier tests gets reused): a reported size is sure.
    runtime.cache.put("sized entry", bytearray(16), size=8 * MiB)
    for _ in range(3):  # samples as the runtime's sampler thread takes them
        runtime.rss_history.append((time.time(), runtime.cache.rss_unmetered(), runtime.cache.managed_bytes()))
    monitor = CacheMonitor(runtime=runtime)
    stats = runtime.cache.stats()
    assert stats["managed_bytes"] > 0
    assert abs(monitor._cache_mib.value - stats["managed_bytes"] / MiB) < 1
    assert abs(monitor._cache_mib.value + monitor._rest_mib.value - stats["rss"] / MiB) < 50  # RSS moves between reads
    data = monitor._rss_source.data
    rss, managed = np.asarray(data["rss"]), np.asarray(data["managed"])  # lists: see CacheMonitor._rss_samples
    assert len(data["time"]) >= 2 and (rss > managed).all() and (managed > 0).any()


def test_an_older_image_never_replaces_a_newer_one(runtime):
    # Served, each image goes to the page on the server's loop; two changes aggregated on two of
    # Panel's threads can reach it in either order.
    from bokeh.document import Document

    sky = SkyMap(runtime=runtime, served=True)
    queued = []
    doc = Document()
    doc.add_root(sky.map.figure.figure)
    doc.add_next_tick_callback = queued.append
    sky.snr_range = (20.0, 60.0)  # few clusters: the older image
    sky.snr_range = (0.0, 60.0)  # all of them: the newer one
    for change in reversed(queued):  # the newer image first, then the older one arrives late
        change()
    expected = catalog_image(SkyMap(runtime=runtime, served=False, snr_range=(0.0, 60.0)))["image"]
    assert np.nansum(catalog_image(sky)["image"]) == np.nansum(expected) > 0


def test_an_unserved_sky_map_renders_into_a_document_and_follows_switches_and_zooms(runtime):
    # It used to recurse without end: a view update ran inside the HoloViews plot's first render.
    from bokeh.document import Document

    sky = SkyMap(runtime=runtime, served=False)
    doc = Document()
    doc.add_root(pn.panel(sky).get_root(doc))
    sky.catalog = "AMICO"
    sky.set_view_ranges((100.0, 200.0), (0.0, 50.0))
    image = catalog_image(sky)
    assert (image["x"], image["dw"]) == (100.0, 100.0) and np.isfinite(image["image"]).any()
    assert sky.map.figure.figure.document is doc and sky.map.figure.figure.title.text == "AMICO: density"


def test_served_the_new_image_goes_to_the_page_before_the_histograms_and_table(runtime, monkeypatch):
    # Next-tick callbacks run in the order they are queued: the switch's image first, then the view.
    from bokeh.document import Document

    sky = SkyMap(runtime=runtime, served=True)
    queued, view_updates = [], []
    doc = Document()
    doc.add_root(sky.map.figure.figure)
    doc.add_next_tick_callback = queued.append
    monkeypatch.setattr(pn.state, "execute", lambda callback, schedule="auto": view_updates.append(callback) or queued.append(callback))
    sky.catalog = "AMICO"
    assert view_updates and queued.index(view_updates[0]) > 0  # something went first: the image
    queued[0]()
    assert sky.map.figure.figure.title.text == "AMICO: density"


def test_the_models_public_surface_drives_its_views(runtime):
    """What HatsLayer, url_state and Finder use: ranges, the frame, the spinner, progress and notifications."""
    messages = []
    sky = SkyMap(runtime=runtime, served=False, notify=messages.append)
    frame = sky.frame
    assert sky.view_ranges is None and sky.view[1] is None  # before the plot's first range event: every row
    sky.set_view_ranges((float("nan"), 1.0), (0.0, 1.0))  # what a plot sends before its first layout
    assert sky.view_ranges is None and sky.view[1] is None
    sky.set_view_ranges((100.0, 200.0), (0.0, 50.0))
    assert sky.view_ranges == ((100.0, 200.0), (0.0, 50.0))
    inside = (frame["ra"] >= 100) & (frame["ra"] <= 200) & (frame["dec"] >= 0) & (frame["dec"] <= 50)
    assert sky.view[1].sum() == inside.sum() > 0 and sky.table.title.object == f"**{int(inside.sum()):,} rows in view**"
    part = frame[inside].iloc[:5]
    sky.replace_frame(part)  # as a HATS layer swaps in the rows a view needs
    assert sky.view[0] is part and sky.table.title.object == "**5 rows in view**"
    assert 0 < np.nanmax(catalog_image(sky)["image"]) <= 5 and len(sky.map.figure.markers.data["object"]) == 5  # the map draws them
    sky.show_loading(True)
    assert sky.map.__panel__().loading
    sky.show_loading(False)
    assert not sky.map.__panel__().loading
    sky.progress.show(2, 5, "2 of 5 counted")
    assert sky.progress.visible and sky.progress.done == 2 and sky.progress.text.visible and sky.progress.text.object == "2 of 5 counted"
    sky.progress.hide()
    assert not sky.progress.visible and not sky.progress.text.visible
    sky.notify("the partitions in view could not be read")
    assert messages == ["the partitions in view could not be read"]


def test_the_histograms_count_the_rows_in_view_and_rescale(runtime):
    from vizcache.viewer.histograms import Histograms

    sky = SkyMap(runtime=runtime, served=False)
    _, snr = Histograms(model=sky).plots
    frame = sky.frame
    assert sum(snr.source.data["count"]) == np.isfinite(frame["snr"]).sum()
    tallest = max(snr.source.data["count"])
    sky.set_view_ranges((100.0, 200.0), (0.0, 50.0))
    inside = (frame["ra"] >= 100) & (frame["ra"] <= 200) & (frame["dec"] >= 0) & (frame["dec"] <= 50)
    counted = int(np.isfinite(frame.loc[inside, "snr"]).sum())
    assert sum(snr.source.data["count"]) == counted and snr.figure.title.text == f"SNR: {counted:,} rows in view"
    assert snr.figure.y_range.end == pytest.approx(1.08 * max(snr.source.data["count"]))  # from 0 to its tallest bar now
    assert snr.figure.y_range.end < tallest


def test_a_histogram_of_few_rows_has_whole_number_ticks_and_says_row():
    import pandas as pd

    from vizcache.viewer.histograms import Histogram

    histogram = Histogram(("snr",), "SNR")
    histogram.show(pd.DataFrame({"snr": [5.0, np.nan]}), None)
    assert histogram.figure.title.text == "SNR: 1 row in view"
    ticker = histogram.figure.yaxis[0].ticker
    assert ticker.min_interval == 1 and histogram.figure.y_range.end == pytest.approx(1.08)  # 0 and 1, no 0.2 steps


def test_a_first_catalog_that_fails_is_said_once_in_the_page_and_the_log(runtime, caplog):
    import logging

    from vizcache.viewer.histograms import Histograms

    with caplog.at_level(logging.WARNING, logger="vizcache.viewer.skymap"):
        sky = SkyMap(runtime=runtime, served=False, catalog="BROKEN")
    text = sky._failure.object
    assert sky._failure.visible and text.count("could not be loaded") == 1 and "not a readable Parquet file" in text
    assert "Choose another catalog: PZWAV" in text and "none configured" not in text
    assert sum("could not be loaded" in r.getMessage() and "broken.parquet" in r.getMessage() for r in caplog.records) == 1
    assert sky.table.title.object == "" and sky.table.download.disabled  # no table, no CSV of nothing
    plots = Histograms(model=sky).plots
    assert [p.figure.title.text for p in plots] == ["redshift: no catalog loaded", "SNR: no catalog loaded"]
    sky.catalog = "BOTH"
    assert not sky._failure.visible and not sky.table.download.disabled and "rows in view" in sky.table.title.object
