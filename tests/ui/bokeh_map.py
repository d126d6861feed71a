"""Reading and driving the sky map's Bokeh models from a playwright page (what a user's zoom does)."""

import time

from playwright.sync_api import Error as PlaywrightError

from ..waiting import wait_until

# The sky map is the figure whose x range runs backwards (RA grows to the left).
_FIGURE = """
const doc = Bokeh.documents[0];
let fig = null;
for (const m of doc.all_models) if (m.constructor.__name__ === 'Figure' && m.x_range.start > m.x_range.end) fig = m;
"""


def set_view(page, ra: tuple[float, float], dec: tuple[float, float]) -> None:
    """Zoom the map to an RA/Dec box, as a box zoom would (ranges, then the ranges-update event HoloViews listens to)."""
    page.evaluate("(() => {" + _FIGURE + """
fig.x_range.setv({start: %r, end: %r}); fig.y_range.setv({start: %r, end: %r});
for (const v of Object.values(Bokeh.index)) { const pv = v.owner.find_one(fig); if (pv) { pv.trigger_ranges_update_event(); return; } }
})()""" % (max(ra), min(ra), min(dec), max(dec)))


def markers(page) -> dict:
    """The marker layer's data (column -> list), empty when no markers are drawn."""
    return page.evaluate("(() => {" + _FIGURE + """
for (const r of fig.renderers) if (r.glyph && r.glyph.constructor.__name__ === 'Scatter') {
  const out = {}; for (const [k, v] of Object.entries(r.data_source.data)) out[k] = Array.from(v); return out; }
return {};})()""")


def trigger_ranges_update(page) -> None:
    page.evaluate("(() => {" + _FIGURE + """
for (const v of Object.values(Bokeh.index)) { const pv = v.owner.find_one(fig); if (pv) { pv.trigger_ranges_update_event(); return; } }
})()""")


def wait_for_markers(page, predicate, timeout: float = 30.0) -> dict:
    """The markers once ``predicate`` holds; the view's range event is sent again every few seconds
    (one sent while the session's first render is still going out can be dropped)."""
    nudge = [time.monotonic() + 3]

    def matching():
        data = markers(page)
        if predicate(data):
            return data
        if time.monotonic() > nudge[0]:
            trigger_ranges_update(page)
            nudge[0] = time.monotonic() + 3
        return {k: v[:5] for k, v in data.items()} and None

    return wait_until(matching, timeout=timeout, interval=0.3, message="markers matching")


def colour_mapper(page) -> dict:
    """The colour bar's mapper: its class, low and high."""
    return page.evaluate("(() => {" + _FIGURE + """
for (const m of doc.all_models) if (m.constructor.__name__ === 'ColorBar')
  return {type: m.color_mapper.constructor.__name__, low: m.color_mapper.low, high: m.color_mapper.high};
return null;})()""")


def to_screen(page, x: float, y: float) -> tuple[float, float]:
    """Page coordinates of the data point (x, y) on the map."""
    return tuple(page.evaluate("(() => {" + _FIGURE + """
for (const v of Object.values(Bokeh.index)) { const pv = v.owner.find_one(fig); if (pv) {
  const r = pv.canvas_view.el.getBoundingClientRect();
  return [r.left + pv.frame.x_scale.compute(%r), r.top + pv.frame.y_scale.compute(%r)]; } }
return null;})()""" % (x, y)))


def tooltip_texts(page) -> list[str]:
    """The text of every Bokeh tooltip on the page (they live in shadow roots)."""
    return [t.evaluate("e => Array.from(e.shadowRoot.querySelectorAll('div')).map(d => d.innerText).join('|')")
            for t in page.locator(".bk-Tooltip").all()]


def wait_for_tooltip(page, containing: str, timeout: float = 10.0) -> str:
    return wait_until(lambda: next((t for t in tooltip_texts(page) if containing in t), None), timeout=timeout, interval=0.2,
                      message=f"a tooltip with {containing!r}")


def map_title(page) -> str | None:
    """The map's title (it names the catalog and the colouring) once its image has arrived; None before.
    The map is the shown figure with a drawn image, in either projection (all-sky's x range runs forwards;
    a projection's change replaces the figure, and the document keeps the old one)."""
    return page.evaluate("""(() => {
const shown = m => Object.values(Bokeh.index).some(v => v.owner.find_one(m));
for (const m of Bokeh.documents[0].all_models)
  if (m.constructor.__name__ === 'Figure' && m.title && m.title.text && shown(m)
      && m.renderers.some(r => r.glyph && r.glyph.constructor.__name__ === 'Image' && r.data_source.data.image.length))
    return m.title.text;
return null;})()""")


def wait_for_map(page, catalog: str | None = None, timeout: float = 60.0) -> str:
    """The map's title once its image is in the page and, given ``catalog``, the title names it.
    Before Bokeh has a document the page's script raises: that counts as not yet."""
    def shown():
        title = map_title(page)
        return title if title and (catalog is None or title.startswith(f"{catalog}:")) else None

    return wait_until(shown, timeout=timeout, interval=0.2, ignore=(PlaywrightError,),
                      message=f"the map drawn{f' with {catalog}' if catalog else ''}")


def monitor_counts(page) -> str:
    """The cache monitor's counts line (``N hits · N misses · N loads · ...``), empty until the monitor is in the page."""
    counts = page.get_by_text("hits ·")
    return counts.first.inner_text() if counts.count() else ""


def view_ranges(page) -> tuple[tuple[float, float], tuple[float, float]]:
    """The map's (x start, x end), (y start, y end) in the browser."""
    return tuple(map(tuple, page.evaluate("(() => {" + _FIGURE + "return [[fig.x_range.start, fig.x_range.end], [fig.y_range.start, fig.y_range.end]];})()")))


def readout(page) -> str:
    """The cursor readout written on the map."""
    return page.evaluate("(() => {" + _FIGURE + """
for (const r of fig.center) if (r.name === 'cursor-readout') return r.text; return null;})()""")


def scatter_data(page, nth: int) -> dict:
    """The data of the map's nth Scatter renderer (0: the markers, 1: the highlighted cluster)."""
    return page.evaluate("(() => {" + _FIGURE + """
const scatters = fig.renderers.filter(r => r.glyph && r.glyph.constructor.__name__ === 'Scatter');
const r = scatters[%d]; if (!r) return {};
const out = {}; for (const [k, v] of Object.entries(r.data_source.data)) out[k] = Array.from(v); return out;})()""" % nth)


def select_markers(page, indices: list[int]) -> None:
    """Select markers by position, as a box or lasso selection does."""
    page.evaluate("(() => {" + _FIGURE + """
const r = fig.renderers.filter(r => r.glyph && r.glyph.constructor.__name__ === 'Scatter')[0];
r.data_source.selected.indices = %s;})()""" % list(indices))
