"""A box selection on the map's markers and the coverage outline go into the link; the link, opened in a
new session, shows the same clusters selected (the table lists them) and the outline drawn."""

import re

import pandas as pd
import pytest

from vizcache.catalogs.schema import EUCLID_COLUMNS

from ..waiting import wait_until
from .bokeh_map import markers, set_view, to_screen, wait_for_map, wait_for_markers
from .test_coverage_browser import OUTLINE
from .test_link_reproduces_browser import query, url

pytestmark = pytest.mark.ui
CANONICAL = {source: canonical for canonical, source in EUCLID_COLUMNS["clusters"].items()}
_SELECTED = """(() => { const doc = Bokeh.documents[0];
for (const m of doc.all_models) if (m.constructor.__name__ === 'GlyphRenderer' && m.glyph.constructor.__name__ === 'Scatter'
    && m.data_source.data.object) return Array.from(m.data_source.selected.indices).map(i => m.data_source.data.object[i]).sort();
return null;})()"""
def selected_rows(page) -> int | None:
    found = page.get_by_text(re.compile(r"[\d,]+ rows? selected"))
    match = re.search(r"([\d,]+) rows? selected", found.first.text_content() or "") if found.count() else None
    return None if match is None else int(match[1].replace(",", ""))


def test_a_box_selection_and_the_outline_reopen_from_the_link(viewer_data, served_viewer, page):
    both = pd.read_parquet(viewer_data / "data" / "small" / "both.parquet").rename(columns=CANONICAL)
    target = both.loc[both["snr"].idxmax()]
    ra, dec = float(target["ra"]), float(target["dec"])
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(served_viewer, timeout=120_000)
    wait_for_map(page, "BOTH")
    set_view(page, (ra + 12, ra - 12), (dec - 6, dec + 6))
    data = wait_for_markers(page, lambda d: len(d.get("object", [])) >= 4)
    # A box over the markers left of the brightest cluster (RA grows to the left), drawn with the Box Select tool.
    page.locator(".bk-tool-icon-box-select").first.click()
    points = sorted(to_screen(page, x, y) for x, y in zip(data["ra"], data["dec"]))
    ys = sorted(y for _, y in points)
    (x0, _), (x1, _) = points[0], points[len(points) // 2]
    top, bottom = ys[len(ys) // 4], ys[3 * len(ys) // 4]  # well inside the plot's frame
    page.mouse.move(x0 - 4, top)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (top + bottom) / 2, steps=5)
    page.mouse.move(x1 + 0.5, bottom, steps=5)
    page.mouse.up()
    chosen = wait_until(lambda: page.evaluate(_SELECTED) or None, timeout=10, message="markers selected")
    wait_until(lambda: selected_rows(page) == len(chosen), timeout=30, message=f"the table listing the {len(chosen)} selected")
    page.locator(".vizcache-skymap input[type=checkbox]").check()  # the coverage outline (the map's only checkbox)
    wait_until(lambda: "select" in query(page) and query(page).get("coverage") == "true", timeout=30,
               message="the selection and the outline in the link")
    assert len(query(page)["select"].split(",")) == len(chosen)
    link = url(page)

    page.goto(link, timeout=120_000)
    wait_for_map(page, "BOTH")
    wait_until(lambda: page.evaluate(_SELECTED) == chosen, timeout=60, message="the same markers selected in the new session")
    wait_until(lambda: selected_rows(page) == len(chosen), timeout=30, message="the table listing the selection")
    wait_until(lambda: (page.evaluate(OUTLINE) or [False, 0])[0], timeout=60, message="the coverage outline drawn")
    assert page.locator(".vizcache-skymap input[type=checkbox]").is_checked()
    assert page.locator(".notyf__message").all_inner_texts() == []
    assert len(markers(page)["object"]) == len(data["object"])  # the link's view, not another
