"""The range filters in a real browser: a slider dragged through many positions re-aggregates the map once, for the
released value (no rubber-banding through stale positions); typed low/high inputs edit the same range, and a value
outside the bounds is named with the allowed interval while the page keeps working."""

import json
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from ..waiting import wait_until
from .bokeh_map import wait_for_map
from .test_expression_browser import rows_shown

pytestmark = pytest.mark.ui

# Counts the server's updates of the catalog image (one per re-aggregation) from now on.
_COUNT_DRAWS = """(() => {
for (const m of Bokeh.documents[0].all_models)
  if (m.constructor.__name__ === 'GlyphRenderer' && m.glyph.constructor.__name__ === 'Image' && m.data_source.data.image.length) {
    window.__draws = 0; m.data_source.change.connect(() => { window.__draws += 1; }); return true; }
return false;})()"""


def snr_in_link(page):
    values = parse_qs(urlsplit(page.evaluate("window.location.href")).query).get("snr")
    return json.loads(values[0]) if values else None


def test_a_dragged_slider_redraws_once_for_the_released_value(viewer_data, served_viewer, page):
    page.goto(served_viewer + "?catalog=AMICO", timeout=120_000)
    wait_for_map(page, "AMICO")
    assert page.evaluate(_COUNT_DRAWS)
    handle = page.locator(".noUi-handle-lower").first  # the SNR slider's low handle (the sidebar's first slider)
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 41):  # 40 intermediate positions, right then a little back
        page.mouse.move(x + min(step, 30) * 3 - max(step - 30, 0) * 2, y)
    page.mouse.up()
    final = wait_until(lambda: (v := snr_in_link(page)) and v[0] > 0 and v, timeout=30, message="the released SNR in the link")
    low_input = page.locator(".bk-input-group", has_text="SNR range low").locator("input")
    wait_until(lambda: float(low_input.input_value()) == pytest.approx(final[0]), timeout=30, message="the typed input follows the slider")
    wait_until(lambda: page.evaluate("window.__draws") >= 1, timeout=30, message="the map redrawn")
    rows = wait_until(lambda: rows_shown(page), timeout=30, message="rows in view")
    assert page.evaluate("window.__draws") <= 2, "the map was re-aggregated for intermediate positions"  # one, maybe its restyle
    assert snr_in_link(page) == final and rows_shown(page) == rows

    # Typed: a value outside the bounds is named with the interval and not applied; a good one is.
    low_input.fill("99")
    low_input.press("Tab")  # a number input commits its value when it loses the focus
    page.locator(".notyf__message", has_text="SNR range low: 99 is outside the allowed interval; allowed: 0 to 60").wait_for(timeout=30_000)
    wait_until(lambda: float(low_input.input_value()) == pytest.approx(final[0]), timeout=30, message="the input back to the range in force")
    assert snr_in_link(page) == final
    low_input.fill("7.5")
    low_input.press("Tab")  # a number input commits its value when it loses the focus
    wait_until(lambda: snr_in_link(page) == [7.5, final[1]], timeout=30, message="the typed low in the link")
    snr = pd.read_parquet(viewer_data / "data" / "small" / "amico.parquet")["SNR_CLUSTER"]
    expected = int(snr.between(7.5, final[1]).sum())
    wait_until(lambda: rows_shown(page) == expected, timeout=30, message=f"{expected} rows with SNR 7.5 to {final[1]:g} (the whole sky)")
