"""What a plain Bokeh figure of the page draws, read in the browser: title and tick labels measured in its own fonts."""

# `fig`: the first figure whose title starts with %(title)r; `view`: its view.
_FIGURE = """
const doc = Bokeh.documents[0];
let fig = null;
for (const m of doc.all_models) if (m.constructor.__name__ === 'Figure' && m.title && String(m.title.text).startsWith(%(title)r)) { fig = m; break; }
if (fig === null) return null;
let view = null;
for (const v of Object.values(Bokeh.index)) { const pv = v.owner.find_one(fig); if (pv) { view = pv; break; } }
const ctx = document.createElement('canvas').getContext('2d');
const width = (text, style, size, font) => { ctx.font = `${style} ${size} ${font}`; return ctx.measureText(text).width; };
"""


def _run(page, title: str, body: str):
    return page.evaluate("(() => {" + _FIGURE % {"title": title} + body + "})()")


def title_fit(page, title: str) -> dict | None:
    """The title's text, its drawn width and the width of the figure's frame (the space it has)."""
    return _run(page, title, """
const t = fig.title;
return {text: t.text, width: width(t.text, t.text_font_style, t.text_font_size, t.text_font), frame: view.frame.bbox.width};""")


def tick_labels(page, title: str, axis: str, start: float | None = None, end: float | None = None) -> list[dict]:
    """The labels the ``axis`` ("x" or "y") draws (text, centre and width in pixels), optionally for the range start..end."""
    return _run(page, title, """
const range = fig.%(axis)s_range, scale = view.frame.%(axis)s_scale;
const [start, end] = [%(start)s ?? range.start, %(end)s ?? range.end];
if (%(start)s !== null) range.setv({start, end});
const ax = (%(axis)r === 'x' ? fig.below : fig.left).find(a => a.constructor.__name__.endsWith('Axis'));
const ticks = ax.ticker.get_ticks(start, end, range, NaN).major;
const labels = ax.formatter.doFormat(ticks, {loc: 0});
return ticks.map((t, i) => ({text: String(labels[i]), centre: scale.compute(t),
  width: width(String(labels[i]), ax.major_label_text_font_style, ax.major_label_text_font_size, ax.major_label_text_font)}));""" % {
        "axis": axis, "start": "null" if start is None else repr(start), "end": "null" if end is None else repr(end)})


def overlapping(labels: list[dict]) -> list[tuple[str, str]]:
    """Neighbouring x-axis labels whose text would touch."""
    ordered = sorted(labels, key=lambda label: label["centre"])
    return [(a["text"], b["text"]) for a, b in zip(ordered, ordered[1:]) if b["centre"] - a["centre"] < (a["width"] + b["width"]) / 2 + 2]


def y_range(page, title: str) -> tuple[float, float]:
    return tuple(_run(page, title, "return [fig.y_range.start, fig.y_range.end];"))


def table_cells(page, table, field: str) -> list[str]:
    """The texts of a Tabulator column's cells on the page shown."""
    return table.locator(f".tabulator-row .tabulator-cell[tabulator-field='{field}']").all_inner_texts()


def columns_inside(table) -> dict[str, bool]:
    """Each header of a Tabulator: is it wholly inside the table's visible width?"""
    return table.evaluate("""t => { const box = t.getBoundingClientRect(); const out = {};
for (const c of t.querySelectorAll('.tabulator-col[tabulator-field]')) { const f = c.getAttribute('tabulator-field'); if (f === '_index') continue;
  const r = c.getBoundingClientRect(); out[f] = r.width > 0 && r.left >= box.left - 1 && r.right <= box.right + 1; }
return out; }""")
