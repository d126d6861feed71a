"""The finder comparison's map in a real browser (1440 px): re-aggregated on zoom (finer pixels, not the
full-sky image's blocks), markers whose hover names both clusters of a pair, classes switched off on the map,
the Mpc radius and the both-ways match changing the count as computed directly, and the SNR note."""

import re

import pandas as pd
import pytest

from vizcache.catalogs.crossmatch import MATCHED, crossmatch
from vizcache.catalogs.schema import EUCLID_COLUMNS

from ..waiting import wait_until
from .bokeh_map import tooltip_texts

pytestmark = pytest.mark.ui
CANONICAL = {source: canonical for canonical, source in EUCLID_COLUMNS["clusters"].items()}

# The comparison's figure: the one whose title says "match class"; its RGB image's placement and size.
_FIG = """const doc = Bokeh.documents[0]; let fig = null;
for (const m of doc.all_models) if (m.constructor.__name__ === 'Figure' && m.title && m.title.text && m.title.text.includes('match class')
    && Object.values(Bokeh.index).some(v => v.owner.find_one(m))) fig = m;"""
IMAGE = "(() => {" + _FIG + """
if (!fig) return null;
for (const r of fig.renderers) if (r.glyph && r.glyph.constructor.__name__ === 'ImageRGBA' && r.data_source.data.image.length) {
  const d = r.data_source.data, img = d.image[0];
  const colours = new Set(); const rgba = new Uint8Array(img.buffer, img.byteOffset, img.byteLength);
  for (let i = 0; i < rgba.length; i += 4) if (rgba[i + 3] > 0) colours.add((rgba[i] << 16) | (rgba[i + 1] << 8) | rgba[i + 2]);
  return {dw: d.dw[0], dh: d.dh[0], x: d.x[0], shape: img.shape, colours: Array.from(colours)};
}
return null;})()"""
MARKERS = "(() => {" + _FIG + """
if (!fig) return null;
for (const r of fig.renderers) if (r.glyph && r.glyph.constructor.__name__ === 'Scatter' && 'cluster_A' in r.data_source.data) {
  const out = {}; for (const [k, v] of Object.entries(r.data_source.data)) out[k] = Array.from(v); return out; }
return {};})()"""


def zoom(page, ra: tuple[float, float], dec: tuple[float, float]) -> None:
    page.evaluate("(() => {" + _FIG + """
fig.x_range.setv({start: %r, end: %r}); fig.y_range.setv({start: %r, end: %r});
for (const v of Object.values(Bokeh.index)) { const pv = v.owner.find_one(fig); if (pv) { pv.trigger_ranges_update_event(); return; } }
})()""" % (max(ra), min(ra), min(dec), max(dec)))


def to_screen(page, x: float, y: float) -> tuple[float, float]:
    return tuple(page.evaluate("(() => {" + _FIG + """
for (const v of Object.values(Bokeh.index)) { const pv = v.owner.find_one(fig); if (pv) {
  const r = pv.canvas_view.el.getBoundingClientRect();
  return [r.left + pv.frame.x_scale.compute(%r), r.top + pv.frame.y_scale.compute(%r)]; } }})()""" % (x, y)))


def matched_count(page) -> int | None:
    """The summary's matched count; None while it is being made again."""
    summary = page.get_by_text("Completeness of PZWAV", exact=False)
    found = re.search(r"([\d,]+) matched", summary.first.inner_text()) if summary.count() else None
    return None if found is None else int(found[1].replace(",", ""))


@pytest.fixture
def comparison(served_viewer, page):
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(served_viewer, timeout=120_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    page.locator(".bk-tab", has_text="Finder comparison").click()
    page.get_by_text("Completeness of PZWAV", exact=False).first.wait_for(timeout=60_000)
    wait_until(lambda: page.evaluate(IMAGE), timeout=60, message="the comparison's image")
    return page


def test_zooming_in_re_aggregates_and_few_clusters_are_markers_naming_both(viewer_data, comparison):
    page = comparison
    whole = page.evaluate(IMAGE)
    both = pd.read_parquet(viewer_data / "data" / "small" / "pzwav.parquet").rename(columns=CANONICAL)
    target = both.loc[both["snr"].idxmax()]
    ra, dec = float(target["ra"]), float(target["dec"])
    zoom(page, (ra - 1.0, ra + 1.0), (dec - 0.6, dec + 0.6))
    # The image is made again for the view: it spans the view (a few degrees), at the same pixel count.
    wait_until(lambda: (lambda i: i and i["dw"] < whole["dw"] / 20)(page.evaluate(IMAGE)), timeout=60, message="a finer image for the zoom")
    markers = wait_until(lambda: (lambda m: m if m and len(m.get("ra", [])) > 0 else None)(page.evaluate(MARKERS)), timeout=60,
                         message="markers for the clusters in view")
    pairs = [i for i, m in enumerate(markers["match"]) if m == MATCHED]
    assert pairs, markers["match"]
    i = pairs[0]
    page.mouse.move(*to_screen(page, markers["ra"][i], markers["dec"][i]))
    text = wait_until(lambda: next((t for t in tooltip_texts(page) if "separation" in t), None), timeout=15, message="the pair's tooltip")
    assert markers["cluster_A"][i].startswith("PZWAV ") and markers["cluster_B"][i].startswith("AMICO ")
    assert markers["cluster_A"][i] in text and markers["cluster_B"][i] in text, text


def test_a_class_switched_off_leaves_the_map(comparison):
    page = comparison
    blue = 0x1565C0  # only A's colour
    wait_until(lambda: blue in page.evaluate(IMAGE)["colours"] or any(abs((c >> 16) - 0x15) < 8 and abs((c & 0xFF) - 0xC0) < 8
                                                                     for c in page.evaluate(IMAGE)["colours"]), message="only A drawn")
    page.get_by_role("button", name="only A on the map", exact=True).click()

    def no_blue():
        colours = page.evaluate(IMAGE)["colours"]
        return not any((c & 0xFF) > 150 and (c >> 16) < 60 for c in colours)  # no bluish pixel left

    wait_until(no_blue, timeout=60, message="no only-A pixel on the map")


def test_mpc_radius_and_both_ways_change_the_count_as_computed(viewer_data, comparison):
    page = comparison
    a = pd.read_parquet(viewer_data / "data" / "small" / "pzwav.parquet").rename(columns=CANONICAL)
    b = pd.read_parquet(viewer_data / "data" / "small" / "amico.parquet").rename(columns=CANONICAL)
    assert matched_count(page) == len(crossmatch(a, b).pairs)
    assert page.get_by_text("SNR is each finder's own quantity", exact=False).count() == 1
    field = page.locator(".bk-input-group", has_text="or radius [Mpc]").locator("input")
    field.fill("0.5")
    field.press("Enter")
    expected = len(crossmatch(a, b, radius_mpc=0.5).pairs)
    wait_until(lambda: matched_count(page) == expected, timeout=60, message=f"{expected} matched within 0.5 Mpc")
    page.locator(".bk-Checkbox", has_text="both ways").locator("input").check()
    expected = len(crossmatch(a, b, radius_mpc=0.5, both_ways=True).pairs)
    wait_until(lambda: matched_count(page) == expected, timeout=60, message=f"{expected} matched both ways")
    assert "0.5 proper Mpc" in page.get_by_text("Completeness of PZWAV", exact=False).first.inner_text()
