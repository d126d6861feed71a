"""The page at 1440 px in a real browser: nothing cut off, squeezed or hidden, numbers that read as numbers."""

from pathlib import Path

import pandas as pd
import pytest

from vizcache.catalogs.schema import EUCLID_COLUMNS

from ..waiting import wait_until
from .bokeh_figures import columns_inside, table_cells, tick_labels, title_fit
from .bokeh_map import monitor_counts, set_view, wait_for_map
from .test_find_browser import psz2_viewer  # noqa: F401  (the PSZ2-like catalog, served)

pytestmark = pytest.mark.ui
CANONICAL = {source: canonical for canonical, source in EUCLID_COLUMNS["clusters"].items()}


def open_at_1440(page, url):
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(url, timeout=120_000)
    page.locator(".vizcache-skymap .bk-Canvas").first.wait_for(timeout=60_000)
    page.locator(".tabulator-row").first.wait_for(timeout=60_000)
    wait_for_map(page)
    wait_until(lambda: monitor_counts(page), timeout=60, message="the monitor's counts")  # the last part of the page to arrive


def bars(page, title: str) -> dict:
    """A histogram's y-range and its bars' counts."""
    return page.evaluate("""title => { for (const m of Bokeh.documents[0].all_models)
  if (m.constructor.__name__ === 'Figure' && String(m.title.text).startsWith(title)) {
    const quads = m.renderers.find(r => r.glyph && r.glyph.constructor.__name__ === 'Quad');
    return {start: m.y_range.start, end: m.y_range.end, counts: Array.from(quads.data_source.data.count)}; } return null; }""", title)


def colour_bar_and_toolbar(page) -> tuple[float, float]:
    """Right edge of the map's colour bar (labels included) and left edge of its toolbar, in page pixels."""
    return tuple(page.evaluate("""() => {
  for (const m of Bokeh.documents[0].all_models) if (m.constructor.__name__ === 'ColorBar')
    for (const v of Object.values(Bokeh.index)) { const cb = v.owner.find_one(m); if (!cb) continue;
      const canvas = cb.parent.canvas_view.el.getBoundingClientRect();
      const tb = cb.parent.owner.find_one(cb.parent.model.toolbar);
      return [canvas.left + cb.bbox.right, tb.el.getBoundingClientRect().left]; }
  return null; }"""))


def test_at_1440_px_nothing_is_cut_off_squeezed_or_hidden(viewer_data, served_viewer, page):
    both = pd.read_parquet(Path(viewer_data) / "data" / "small" / "both.parquet").rename(columns=CANONICAL)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_at_1440(page, served_viewer)
    page.get_by_text("Pick a catalog, zoom the map", exact=False).first.wait_for(timeout=10_000)  # the page says what it is
    assert page.locator(".vizcache-skymap").first.bounding_box()["width"] >= 700  # was ~370-580 beside a 430-px monitor
    table = page.locator(".tabulator:has(.tabulator-col[tabulator-field=cross_id])").first
    assert all(columns_inside(table).values()), columns_inside(table)
    monitor, table_box = page.get_by_text("Cache monitor").first.bounding_box(), table.bounding_box()
    beside = monitor["x"] >= table_box["x"] + table_box["width"]
    assert beside or monitor["y"] >= table_box["y"] + table_box["height"], (monitor, table_box)  # never over the table
    for title in ("redshift", "SNR"):
        fit = title_fit(page, title)
        assert fit["width"] <= fit["frame"], fit
    # Ids as ids: no thousands separators, cross_id a whole number (or empty).
    assert all("," not in cell for cell in table_cells(page, table, "id"))
    cross = table_cells(page, table, "cross_id")
    assert cross and all(cell.strip() == "" or cell.strip().isdigit() for cell in cross), cross
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV:", exact=False).click()
    csv = pd.read_csv(download.value.path(), dtype=str, keep_default_na=False)
    assert len(csv) == len(both) and all(v == "" or v.isdigit() for v in csv["cross_id"]), csv["cross_id"].head()
    assert set(csv["cross_id"]) - {""} == {str(int(v)) for v in both["cross_id"].dropna()}
    # Counts as counts: a members catalog's 600,000 rows a bin, not 6.000e+5.
    formatted = page.evaluate("""() => { for (const m of Bokeh.documents[0].all_models)
      if (m.constructor.__name__ === 'Figure' && String(m.title.text).startsWith('redshift'))
        return m.left.find(a => a.constructor.__name__.endsWith('Axis')).formatter.doFormat([0, 200000, 400000, 600000], {loc: 0}); }""")
    assert formatted == ["0", "200,000", "400,000", "600,000"], formatted
    assert not any("e+" in label["text"] for label in tick_labels(page, "redshift", "y"))
    # Histograms fill their height with the rows in view, after zooming as before (was: a fixed 25,000).
    whole = bars(page, "SNR")
    assert whole["start"] == 0 and max(whole["counts"]) >= 0.9 * whole["end"], whole
    ra, dec = (200.0, 215.0), (35.0, 45.0)
    inside = both[both["ra"].between(*ra) & both["dec"].between(*dec) & both["snr"].notna()]
    assert 0 < len(inside) < len(both) / 10
    set_view(page, ra, dec)
    wait_until(lambda: sum(bars(page, "SNR")["counts"]) == len(inside), interval=0.3, message=f"the SNR histogram counting {len(inside)} rows")
    zoomed = bars(page, "SNR")
    assert zoomed["start"] == 0 and max(zoomed["counts"]) >= 0.9 * zoomed["end"] and zoomed["end"] < whole["end"] / 5, zoomed
    # The colour bar's labels stay clear of the toolbar, with the members catalog's larger counts too.
    right, toolbar = colour_bar_and_toolbar(page)
    assert right <= toolbar + 1, (right, toolbar)
    page.get_by_role("button", name="MEMBERS", exact=True).click()
    wait_until(lambda: bars(page, "SNR")["counts"] == [], interval=0.3, message="an empty SNR histogram")  # the members catalog has no SNR
    wait_for_map(page, "MEMBERS")
    right, toolbar = colour_bar_and_toolbar(page)
    assert right <= toolbar + 1, (right, toolbar)
    # Few rows (the axis asked for those ranges) in view: whole-number count ticks, each once (was 0 0 0 1 1 1 for 1 row).
    for end in (1.08, 3.24):
        labels = [label["text"] for label in tick_labels(page, "SNR", "y", 0, end)]
        assert labels == [str(n) for n in range(len(labels))] and len(labels) >= 2, labels
    assert not errors, errors  # the wrapping layout draws without a complaint in the console


def test_a_catalog_without_members_shows_only_what_works_in_words(psz2_viewer, page):
    open_at_1440(page, psz2_viewer)
    text = page.inner_text("body")
    assert "member galaxies" not in text  # no switch that can only fail
    assert "vizcache compare" not in text and "--quick" not in text  # no developer instructions
    for label in ("SNR range", "Redshift range", "Colour map"):
        page.get_by_text(label, exact=False).first.wait_for(timeout=5_000)
    assert "Snr range" not in text and "Cmap" not in text
