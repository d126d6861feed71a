"""Pointing at the map's image: a pixel with objects gives its count, an empty pixel gives 0, never
"NaN" (BokehJS wrote "NaN" for an empty pixel before any formatter ran)."""

import pytest

from ..waiting import wait_until
from .bokeh_map import _FIGURE, to_screen, tooltip_texts
from .test_markers_browser import open_map

pytestmark = pytest.mark.ui

# Data coordinates of the centre of the image's fullest pixel and of an empty pixel whose eight
# neighbours are empty too and which lies well inside the visible frame (the pointer lands on it).
_PIXELS = "(() => {" + _FIGURE + """
for (const r of fig.renderers) if (r.glyph && r.glyph.constructor.__name__ === 'Image' && r.data_source.data.image.length) {
  const d = r.data_source.data, img = d.image[0], [h, w] = img.shape;
  const at = (i, j) => img[i * w + j];
  const centre = (i, j) => [d.x[0] + (j + 0.5) * d.dw[0] / w, d.y[0] + (i + 0.5) * d.dh[0] / h];
  const inside = ([x, y]) => {
    const [x0, x1] = [Math.min(fig.x_range.start, fig.x_range.end), Math.max(fig.x_range.start, fig.x_range.end)];
    const [y0, y1] = [fig.y_range.start, fig.y_range.end];
    return x > x0 + 0.1 * (x1 - x0) && x < x1 - 0.1 * (x1 - x0) && y > y0 + 0.1 * (y1 - y0) && y < y1 - 0.1 * (y1 - y0); };
  let full = null, empty = null, most = -1;
  for (let i = 2; i < h - 2; i++) for (let j = 2; j < w - 2; j++) {
    const v = at(i, j);
    if (Number.isFinite(v) && v > most && inside(centre(i, j))) { most = v; full = centre(i, j); }
    let clear = true;
    for (let di = -2; di <= 2 && clear; di++) for (let dj = -2; dj <= 2; dj++) if (Number.isFinite(at(i + di, j + dj))) { clear = false; break; }
    if (clear && !empty && inside(centre(i, j))) empty = centre(i, j);
  }
  return {full, most, empty};
}
return null;})()"""


def _pixel_tooltip(page, containing: str) -> str:
    """The pixel tooltip's text, its label and value cells joined by single spaces, once it holds ``containing``."""
    def shown():
        texts = [" ".join(t.replace("|", " ").split()) for t in tooltip_texts(page)]
        return next((t for t in texts if containing in t), None)
    return wait_until(shown, timeout=10, interval=0.2, message=f"a tooltip with {containing!r}")


def test_an_empty_pixel_reads_0_objects_and_a_full_one_its_count(served_viewer, page):
    open_map(page, served_viewer)
    pixels = page.evaluate(_PIXELS)
    assert pixels and pixels["full"] and pixels["empty"], pixels
    page.mouse.move(*to_screen(page, *pixels["full"]))
    _pixel_tooltip(page, f"objects per pixel: {int(pixels['most'])}")
    page.mouse.move(*to_screen(page, *pixels["empty"]))
    text = _pixel_tooltip(page, "objects per pixel: 0")
    assert "NaN" not in " ".join(tooltip_texts(page)), text


def test_with_the_brightest_cluster_named_an_empty_pixel_names_none(served_viewer, page):
    open_map(page, served_viewer)
    page.locator(".bk-Checkbox", has_text="pixel hover names its brightest cluster").locator("input").check()  # its label is a sibling
    wait_until(lambda: page.evaluate("(() => {" + _FIGURE + """
for (const r of fig.renderers) if (r.glyph && r.glyph.constructor.__name__ === 'Image' && 'id_hi' in r.data_source.data) return true;
return false;})()"""), timeout=30, message="the image with its brightest clusters' ids")
    pixels = page.evaluate(_PIXELS)
    page.mouse.move(*to_screen(page, *pixels["full"]))
    text = _pixel_tooltip(page, "brightest: id")
    assert "brightest: id: none" not in text and "NaN" not in text, text
    page.mouse.move(*to_screen(page, *pixels["empty"]))
    text = _pixel_tooltip(page, "objects per pixel: 0")
    assert "brightest: id: none" in text and "brightest: snr: none" in text and "NaN" not in text, text
