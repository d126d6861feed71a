"""Every object on the map stays visible on both themes' backgrounds, read from the pixels Chromium drew at 1440 px."""

import io

import pytest
from PIL import Image

from ..waiting import wait_until
from .bokeh_map import monitor_counts, wait_for_map

pytestmark = pytest.mark.ui

#: the least CIE76 colour difference (ΔE*ab) a drawn object keeps from the map's background. WCAG's luminance
#: contrast cannot tell: fire's black on the dark theme's #2b3035 (ΔE 20, invisible) has a contrast of 1.58, its
#: dark red #9a0300 (ΔE 75, plainly seen) 1.51. White on white is ΔE 0.
MIN_DELTA_E = 40

# The map's catalog image and where its pixels land on the page: the centres of the pixels holding one object
# alone (none around it) and of the brightest pixels. The other layers (coordinate lines, their labels, the
# legend) are hidden, so that only the image is drawn over the background.
_PIXELS = """() => {
let fig = null, view = null;
for (const m of Bokeh.documents[0].all_models) if (m.constructor.__name__ === 'Figure' && m.x_range.start > m.x_range.end) fig = m;
for (const v of Object.values(Bokeh.index)) { view = v.owner.find_one(fig); if (view) break; }
const image = fig.renderers.find(r => r.glyph && r.glyph.constructor.__name__ === 'Image'
                                      && r.glyph.color_mapper.constructor.__name__ === 'LogColorMapper');  // not the members' EqHist
for (const r of fig.renderers) if (r !== image) r.visible = false;
for (const r of fig.center) if (['Legend', 'Label', 'LabelSet'].includes(r.constructor.__name__)) r.visible = false;
const d = image.data_source.data, img = d.image[0], [h, w] = img.shape, box = view.canvas_view.el.getBoundingClientRect();
const value = (i, j) => (i < 0 || j < 0 || i >= h || j >= w) ? NaN : img[i * w + j];
const at = (i, j) => [box.left + view.frame.x_scale.compute(d.x[0] + (j + 0.5) * d.dw[0] / w),
                      box.top + view.frame.y_scale.compute(d.y[0] + (i + 0.5) * d.dh[0] / h)];
const alone = (i, j) => {
  for (let a = -1; a <= 1; a++) for (let b = -1; b <= 1; b++) if ((a || b) && value(i + a, j + b) > 0) return false;
  return true; };
let max = 0; for (const v of img) if (v > max) max = v;
const single = [], brightest = [];
for (let i = 1; i < h - 1; i++) for (let j = 1; j < w - 1; j++)
  if (value(i, j) === 1 && alone(i, j)) single.push(at(i, j)); else if (value(i, j) === max) brightest.push(at(i, j));
// the colours the map's own colour mapper gives 1 object and the brightest pixel
const colours = Array.from(image.glyph.color_mapper.rgba_mapper.v_compute([1, max]));
const f = view.frame.bbox, scale = view.frame.x_scale, yscale = view.frame.y_scale;
const cell = [Math.abs(scale.compute(d.dw[0] / w) - scale.compute(0)), Math.abs(yscale.compute(d.dh[0] / h) - yscale.compute(0))];
return {single, brightest, max, cell, colours: [colours.slice(0, 3), colours.slice(4, 7)],
        frame: [box.left + f.left, box.top + f.top, f.width, f.height], background: fig.background_fill_color};
}"""


def lab(rgb) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB colour."""
    def linear(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb[:3])
    xyz = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b, (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    fx, fy, fz = (t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116 for t in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e(a, b) -> float:
    return sum((p - q) ** 2 for p, q in zip(lab(a), lab(b))) ** 0.5


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))


@pytest.mark.parametrize("theme", ["default", "dark"])
def test_single_objects_and_the_brightest_pixels_stand_out_from_the_background(served_viewer, page, theme):
    # With fire's whole range, 1 object was black (invisible on the dark theme) and the brightest pixels white on white.
    # Two device pixels a CSS pixel: each of the image's pixels (900 x 450 in a frame ~920 x 350 CSS px) covers
    # whole screen pixels, none is skipped.
    page = page.context.browser.new_page(viewport={"width": 1440, "height": 1000}, device_scale_factor=2)
    page.goto(served_viewer + ("?theme=dark" if theme == "dark" else ""), timeout=120_000)
    wait_for_map(page)
    wait_until(lambda: monitor_counts(page), timeout=60, message="the monitor's counts")  # the layout is final
    page.mouse.move(0, 0)  # no tooltip or cursor readout over the map
    pixels = page.evaluate(_PIXELS)
    page.wait_for_timeout(300)  # the map redrawn without the hidden layers
    x, y, width, height = pixels["frame"]
    shot = Image.open(io.BytesIO(page.screenshot(clip={"x": x, "y": y, "width": width, "height": height}))).convert("RGB")
    scale = shot.width / width

    background = hex_rgb(pixels["background"])
    cw, ch = (c * scale for c in pixels["cell"])

    def around(point) -> set:
        """The colours drawn within a pixel of the image's pixel centred on ``point``: Chromium places an
        image's pixels up to a device pixel off (one is ~2 of them)."""
        px, py = (point[0] - x) * scale, (point[1] - y) * scale
        return {shot.getpixel((i, j)) for i in range(max(0, int(px - cw)), min(shot.width, int(px + cw) + 1))
                for j in range(max(0, int(py - ch)), min(shot.height, int(py + ch) + 1))}

    assert (background == (255, 255, 255)) == (theme == "default"), pixels["background"]  # the theme asked for
    assert pixels["max"] >= 2 and len(pixels["single"]) >= 20 and pixels["brightest"], {k: v for k, v in pixels.items() if k != "single"}
    for kind, colour in zip(("single", "brightest"), map(tuple, pixels["colours"])):
        missing = [point for point in pixels[kind] if colour not in around(point)]
        assert not missing, (theme, kind, colour, len(missing), len(pixels[kind]))  # drawn where the image's data says
        assert delta_e(colour, background) >= MIN_DELTA_E, (theme, kind, colour, pixels["background"], round(delta_e(colour, background), 1))
