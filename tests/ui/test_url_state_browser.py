"""The view in the URL: a shared link opens the same filters, projection and view box; zooming updates the link."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from ..waiting import wait_until
from .bokeh_map import set_view, trigger_ranges_update, view_ranges

pytestmark = pytest.mark.ui


def query(page):
    return {k: v[0] for k, v in parse_qs(urlsplit(page.evaluate("location.href")).query).items()}  # page.url may show a replaceState late


def test_a_shared_link_opens_the_same_view_and_zooming_updates_it(served_viewer, page):
    page.goto(served_viewer + "?catalog=AMICO&snr=[6,40]&color=mean%20SNR&view=200,150,20,50", timeout=120_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    wait_until(lambda: view_ranges(page) == ((200, 150), (20, 50)), interval=0.3, message="the link's view drawn")
    page.get_by_text("SNR range: 6 .. 40", exact=False).wait_for(timeout=20_000)
    set_view(page, (170, 180), (30, 35))

    def view_in_link():
        if query(page).get("view") == "180,170,30,35":
            return True
        trigger_ranges_update(page)  # a range event sent while the first render goes out can be dropped
        return False

    wait_until(view_in_link, interval=1, message="the zoomed view in the link")
    state = query(page)
    assert state["catalog"] == "AMICO"
    assert json.loads(state["snr"]) == [6, 40] and state["color"] == "mean SNR"


def test_a_bad_value_in_the_link_is_named_and_ignored(served_viewer, page):
    page.goto(served_viewer + "?snr=[0,999]&view=a,b", timeout=120_000)
    page.locator(".notyf__message").first.wait_for(timeout=60_000)
    text = " ".join(page.locator(".notyf__message").all_inner_texts())
    assert "Ignored snr='[0,999]'" in text
    page.locator(".bk-Canvas").first.wait_for(timeout=30_000)
