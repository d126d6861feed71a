"""Hostile links in a real browser: the page is built and names each bad value; a deep zoom's link opens again."""

import pytest

from ..waiting import wait_until
from .bokeh_map import set_view, trigger_ranges_update, view_ranges

pytestmark = pytest.mark.ui

DEEP = ((150.0, 150.000000002), (2.0, 2.000000001))  # written as view=150,150,2,2 before (6 significant digits)
DEEP_TEXT = "150.000000002,150,2,2.000000001"
# The sky map (its x range runs backwards) drawn at DEEP, to every bit.
_DRAWN_AT_DEEP = f"""
const doc = Bokeh.documents[0];
for (const m of doc.all_models) if (m.constructor.__name__ === 'Figure' && m.x_range.start > m.x_range.end)
  return m.x_range.start === {DEEP[0][1]!r} && m.y_range.end === {DEEP[1][1]!r};
return false;"""


def notices(page) -> str:
    page.locator(".notyf__message").first.wait_for(timeout=60_000)
    return " ".join(page.locator(".notyf__message").all_inner_texts())


def test_a_link_nested_5000_deep_still_builds_the_page_and_names_every_bad_value(served_viewer, page):
    nested = "[" * 5000 + "]" * 5000
    page.goto(served_viewer + f"?snr={nested}&z=[2,1]&keep_unknown_z=[NaN,5]&view=1000,900,400,500", timeout=120_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)  # a RecursionError left the page blank
    page.wait_for_function("() => document.querySelectorAll('.notyf__message').length >= 4", timeout=60_000)
    text = notices(page)
    assert "Ignored snr='[[[[" in text and "(10,000 characters)" in text and "Ignored z='[2,1]'" in text
    assert "Ignored keep_unknown_z='[NaN,5]'" in text and "Ignored view='1000,900,400,500'" in text


def test_a_deep_zoom_writes_a_link_that_opens_the_same_view(served_viewer, page):
    page.goto(served_viewer, timeout=120_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    set_view(page, *DEEP)

    def link_written():
        if page.evaluate(f"new URLSearchParams(location.search).get('view') === {DEEP_TEXT!r}"):
            return True
        trigger_ranges_update(page)  # a range event sent while the first render goes out can be dropped: sent again
        return False

    wait_until(link_written, interval=3, message=f"view={DEEP_TEXT} in the link")
    link = page.evaluate("location.href")  # written by history.replaceState, which page.url may show late
    page.goto(link, timeout=120_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    page.wait_for_function(f"() => {{ {_DRAWN_AT_DEEP} }}", timeout=60_000)
    assert view_ranges(page) == ((DEEP[0][1], DEEP[0][0]), DEEP[1])  # x as drawn: RA grows to the left
    assert page.locator(".notyf__message").count() == 0  # its own link is not refused

