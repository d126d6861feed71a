"""A shared link reopens exactly what was shown: after a catalog switch and a Find, after a zoom with unknown
redshifts dropped, after a projection's change, with the tab; written at once, and never refused when reopened."""

from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from ..waiting import wait_until
from .bokeh_map import set_view, trigger_ranges_update, view_ranges, wait_for_map
from .test_expression_browser import rows_shown

pytestmark = pytest.mark.ui


def url(page) -> str:
    """The address as the browser has it (the link is written with history.replaceState, which page.url may not show yet)."""
    return page.evaluate("window.location.href")


def query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url(page)).query).items()}


def settled_rows(page, message: str) -> int:
    """The rows-in-view count once it has stayed the same for a few reads (the page has caught up)."""
    seen = []

    def steady():
        seen.append(rows_shown(page))
        return [seen[-1]] if len(seen) >= 4 and seen[-1] is not None and len(set(seen[-4:])) == 1 else None  # [0] is truthy

    return wait_until(steady, timeout=60, interval=0.5, message=message)[0]


def reopen(page, url: str, tab: str = "Sky map", ra_dec: bool = True) -> tuple[int, tuple | None, list[str]]:
    """Rows in view, the RA/Dec map's ranges (None in all-sky) and the notifications of a new session opened on ``url``."""
    page.goto(url, timeout=120_000)
    page.locator(".bk-tab.bk-active", has_text=tab).wait_for(timeout=60_000)
    if tab != "Sky map":
        page.locator(".bk-tab", has_text="Sky map").click()
    wait_for_map(page)
    rows = settled_rows(page, f"rows in view of {url}")
    return rows, view_ranges(page) if ra_dec else None, page.locator(".notyf__message").all_inner_texts()


def test_a_link_reopens_what_was_shown_after_each_change(viewer_data, served_viewer, page):
    """Each link is taken as soon as its change settles; all are reopened afterwards, each in a new session."""
    amico = pd.read_parquet(viewer_data / "data" / "small" / "amico.parquet")
    links = []  # (url, rows shown, map ranges, tab)
    # Unknown redshifts dropped: Panel's query parser turned the link's false into Python's False when the
    # view was written, refused on the way in, so the reopened page kept them.
    page.goto(served_viewer + "?keep_unknown_z=false&z=[0.1,2]", timeout=120_000)
    wait_for_map(page, "BOTH")
    page.get_by_role("button", name="AMICO", exact=True).click()
    wait_for_map(page, "AMICO")
    before = settled_rows(page, "AMICO's rows in view")
    field = page.locator(".bk-input-group", has_text="Find a name").locator("input")
    field.fill(str(int(amico.iloc[7]["ID_UNIQUE_CLUSTER"])))
    field.press("Enter")
    page.get_by_text("match(es); showing the first").wait_for(timeout=30_000)
    wait_until(lambda: rows_shown(page) != before, timeout=60, message="the rows in view after Find")
    shown = settled_rows(page, "rows in view after Find")
    wait_until(lambda: query(page).get("catalog") == "AMICO" and "view" in query(page), timeout=30, message="catalog and view in the link")
    links.append((url(page), shown, view_ranges(page), "Sky map"))

    # A zoom.
    set_view(page, (300, 330), (-30, 10))

    def zoomed():
        if query(page).get("view") == "330,300,-30,10":
            return True
        trigger_ranges_update(page)  # a range event sent while an update goes out can be dropped
        return False

    wait_until(zoomed, timeout=30, interval=1, message="the zoom in the link")
    assert query(page).get("keep_unknown_z") == "false", url(page)
    links.append((url(page), settled_rows(page, "rows in view after the zoom"), view_ranges(page), "Sky map"))

    # A projection's change shows the whole sky: the link must not keep the RA/Dec box.
    page.get_by_role("button", name="all-sky", exact=True).click()
    wait_until(lambda: query(page).get("projection") == "all-sky", timeout=30, message="the projection in the link")
    def no_ra_dec_box():
        view = query(page).get("view")
        return view is None or all(abs(float(v)) < 3 for v in view.split(","))  # all-sky units are within ±2√2

    wait_until(no_ra_dec_box, timeout=30, message="no RA/Dec box in the all-sky link")
    shown = settled_rows(page, "rows in view after the projection's change")
    links.append((url(page), shown, None, "Sky map"))

    # The tab is in the link.
    page.locator(".bk-tab", has_text="Finder comparison").click()
    wait_until(lambda: query(page).get("tab") == "Finder comparison", timeout=30, message="the tab in the link")
    links.append((url(page), shown, None, "Finder comparison"))

    for link, shown, ranges, tab in links:
        rows, reopened, notes = reopen(page, link, tab, ra_dec=ranges is not None)
        assert (rows, notes) == (shown, []), link
        if ranges is not None:
            assert sum(reopened, ()) == pytest.approx(sum(ranges, ())), link
