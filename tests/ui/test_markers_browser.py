"""Zoomed in, every cluster in view is a marker the user can point at, with a hover naming it."""

from pathlib import Path

import pandas as pd
import pytest

from vizcache.catalogs.schema import EUCLID_COLUMNS

from ..waiting import wait_until
from .bokeh_map import colour_mapper, monitor_counts, set_view, to_screen, tooltip_texts, wait_for_map, wait_for_markers, wait_for_tooltip
from .test_find_browser import psz2_viewer  # noqa: F401  (the PSZ2-like catalog, served)

pytestmark = pytest.mark.ui
CANONICAL = {source: canonical for canonical, source in EUCLID_COLUMNS["clusters"].items()}


def open_map(page, url):
    page.goto(url, timeout=120_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    wait_for_map(page)
    wait_until(lambda: monitor_counts(page), timeout=60, message="the monitor's counts")  # the last part of the page: the layout is final


@pytest.mark.parametrize("scaling", ["log", "linear", "eq_hist"])
def test_fine_zoom_shows_every_cluster_as_a_marker_with_a_colour_bar(viewer_data, served_viewer, page, scaling):
    both = pd.read_parquet(Path(viewer_data) / "data" / "small" / "both.parquet").rename(columns=CANONICAL)
    target = both.loc[both["snr"].idxmax()]
    ra, dec = float(target["ra"]), float(target["dec"])
    box = (ra - 0.4, ra + 0.4), (dec - 0.25, dec + 0.25)
    inside = both[both["ra"].between(*box[0]) & both["dec"].between(*box[1])]
    open_map(page, served_viewer)
    if scaling != "log":
        page.locator("select:has(option:text-is('eq_hist'))").select_option(scaling)
    set_view(page, *box)
    data = wait_for_markers(page, lambda d: len(d.get("object", [])) == len(inside))
    assert sorted(data["object"]) == sorted(f"id {i}" for i in inside["id"])
    # The hover's fields are the cluster's own, as text: no pixel centres, no aggregation names.
    assert set(data) == {"ra", "dec", "object", "RA", "Dec", "z", "SNR", "richness", "more"}
    top = data["object"].index(f"id {int(target['id'])}")
    assert data["SNR"][top] == f"{target['snr']:.2f}" and float(data["RA"][top].split("°")[0]) == pytest.approx(ra, abs=2e-5)
    page.mouse.move(*to_screen(page, data["ra"][top], data["dec"][top]))
    text = wait_for_tooltip(page, "object:")
    assert f"id {int(target['id'])}" in text and f"{target['snr']:.2f}" in text, text
    every = " ".join(tooltip_texts(page))
    assert "Count" not in every and "Selector" not in every and "x_allsky" not in every, every
    mapper = colour_mapper(page)
    assert mapper["low"] < mapper["high"]
    assert mapper["type"] != "LogColorMapper" or mapper["low"] > 0, mapper  # a log colour bar from 0 has no ticks


def test_switching_colour_scaling_back_to_log_logs_no_error(served_viewer, page):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_map(page, served_viewer)
    scaling = page.locator("select:has(option:text-is('eq_hist'))")
    mappers = {"eq_hist": "EqHistColorMapper", "log": "LogColorMapper", "linear": "LinearColorMapper"}
    for value in ("eq_hist", "log", "linear", "log"):
        scaling.select_option(value)
        wait_until(lambda value=value: colour_mapper(page)["type"] == mappers[value], message=f"the colour bar's mapper for {value}")
    assert not errors, errors  # was AttributeError: 'rescale_discrete_levels' going from eq_hist to log


def test_hovering_around_an_isolated_cluster_names_it_everywhere(psz2_viewer, page, tmp_path):  # noqa: F811
    # A sparse catalog at full sky (PSZ2-like: 60 clusters). Each of a 5x5 grid of points around its
    # most isolated cluster, up to 3 px off (inside the 9-px ring the user sees), gets a tooltip with
    # that cluster's own name, RA, Dec, z and SNR (was: 1 of 25, every field "undefined").
    from astropy.table import Table

    truth = Table.read(tmp_path / "psz2.fits").to_pandas()
    open_map(page, psz2_viewer)
    data = wait_for_markers(page, lambda d: len(d.get("object", [])) == len(truth))
    screen = [to_screen(page, ra, dec) for ra, dec in zip(data["ra"], data["dec"])]
    apart = [min(abs(x - ox) + abs(y - oy) for j, (ox, oy) in enumerate(screen) if j != i) for i, (x, y) in enumerate(screen)]
    lonely = max(range(len(screen)), key=apart.__getitem__)
    assert apart[lonely] > 20  # alone on the screen: every tooltip near it is its own
    row = truth.iloc[int(data["object"][lonely].rsplit("id ", 1)[1].rstrip(")")) - 1]
    name = row["NAME"].decode() if isinstance(row["NAME"], bytes) else row["NAME"]
    expected = [name.strip(), f"RA: {row['RA']:.5f}°", f"Dec: {row['DEC']:.5f}°", f"SNR: {row['SNR']:.2f}",
                f"z: {row['REDSHIFT']:.3f}" if row["REDSHIFT"] >= 0 else "z: unknown"]
    x, y = screen[lonely]
    for dx in (-3, -1.5, 0, 1.5, 3):
        for dy in (-3, -1.5, 0, 1.5, 3):
            page.mouse.move(x + dx, y + dy)
            text = " ".join(wait_for_tooltip(page, expected[0]).split())
            assert all(field in text for field in expected), (dx, dy, expected, text[:400])
            assert "richness" not in text, text[:400]  # PSZ2 has no richness: no "richness: unknown"
            page.mouse.move(x + 40, y + 40)  # away, so the next tooltip is a new one


def test_a_marker_has_one_tooltip_and_the_pixel_hover_returns_zoomed_out(viewer_data, served_viewer, page):
    # Over a marker, the marker's tooltip was shown together with the pixel's ("objects per pixel: 1").
    both = pd.read_parquet(Path(viewer_data) / "data" / "small" / "both.parquet").rename(columns=CANONICAL)
    target = both.loc[both["snr"].idxmax()]
    ra, dec = float(target["ra"]), float(target["dec"])
    page.set_viewport_size({"width": 1440, "height": 1000})
    open_map(page, served_viewer)
    set_view(page, (ra - 0.4, ra + 0.4), (dec - 0.25, dec + 0.25))
    data = wait_for_markers(page, lambda d: f"id {int(target['id'])}" in d.get("object", []))
    top = data["object"].index(f"id {int(target['id'])}")
    page.mouse.move(*to_screen(page, data["ra"][top], data["dec"][top]))
    wait_for_tooltip(page, "object:")
    shown = [t for t in tooltip_texts(page) if t.strip("|")]
    assert len(shown) == 1 and "per pixel" not in shown[0], shown
    # Zoomed out past the markers' limit, the pixel's hover is back.
    set_view(page, (float(both["ra"].min()), float(both["ra"].max())), (float(both["dec"].min()), float(both["dec"].max())))
    wait_for_markers(page, lambda d: not d.get("object"))
    page.mouse.move(*to_screen(page, ra, dec))
    text = wait_for_tooltip(page, "objects per pixel")
    assert "object:" not in " ".join(tooltip_texts(page)), text
