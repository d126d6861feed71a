"""The "Coverage (MOC)" toggle in the browser: the outline appears on the map's canvas and goes again."""

import io
import re

import numpy as np
import pytest
from PIL import Image

from ..waiting import wait_until
from .bokeh_map import wait_for_map

pytestmark = pytest.mark.ui

# The outline's MultiLine (coverage_layer.OUTLINE_STYLE's colour): visible flag and number of pieces.
OUTLINE = """(() => {
for (const m of Bokeh.documents[0].all_models)
  if (m.constructor.__name__ === 'GlyphRenderer' && m.glyph.constructor.__name__ === 'MultiLine'
      && (m.glyph.line_color.value ?? m.glyph.line_color) === '#00b0ff')
    return [m.visible, m.data_source.data.xs.length];
return null;})()"""


def outline_pixels(page) -> int:
    """Pixels of the outline's colour (#00b0ff) on the map: nothing else on it is that blue."""
    shot = np.asarray(Image.open(io.BytesIO(page.locator(".vizcache-skymap .bk-Canvas").first.screenshot())).convert("RGB")).astype(int)
    r, g, b = shot[..., 0], shot[..., 1], shot[..., 2]
    return int(np.count_nonzero((r < 80) & (g > 120) & (g < 215) & (b > 200)))


def test_coverage_toggle_draws_and_removes_the_outline(served_viewer, page):
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(served_viewer, timeout=120_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    wait_for_map(page)
    assert page.evaluate(OUTLINE) == [False, 0]  # off by default
    before = outline_pixels(page)
    toggle = page.locator(".vizcache-skymap input[type=checkbox]")  # the map's only checkbox; its label is a sibling div
    assert page.get_by_text("Coverage (MOC)").is_visible()
    toggle.check()
    wait_until(lambda: (lambda s: s and s[0] and s[1] > 0)(page.evaluate(OUTLINE)), timeout=60, message="the outline drawn")
    wait_until(lambda: outline_pixels(page) > before + 200, timeout=30, message="outline-coloured pixels on the map")
    area = page.get_by_text(re.compile(r"^[\d,.]+ deg²$"))
    wait_until(lambda: area.count() == 1, timeout=10, message="the area beside the toggle")
    assert page.get_by_text("download MOC (FITS)").is_visible()
    toggle.uncheck()
    wait_until(lambda: page.evaluate(OUTLINE) == [False, 0], timeout=30, message="the outline gone")
    wait_until(lambda: outline_pixels(page) <= before + 20, timeout=30, message="no outline-coloured pixels")
    assert area.count() == 0
