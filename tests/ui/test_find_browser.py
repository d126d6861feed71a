"""Finding an object in a real browser: a PSZ2-like FITS catalog searched by name, then by position; the cursor readout."""

import re

import pytest

from ..catalogs.psz2 import PSZ2_MAPPING, write_psz2
from ..waiting import wait_until
from .bokeh_map import readout, to_screen, view_ranges, wait_for_map, wait_for_markers

pytestmark = pytest.mark.ui

CONFIG = """
[policy]
name = "AgeBased"
max_age = 3600

[data]
folders = ["."]
""" + PSZ2_MAPPING + """
[viewer]
catalog = "PSZ2"
"""


@pytest.fixture
def psz2_viewer(tmp_path, serve_viewer):
    write_psz2(tmp_path / "psz2.fits")
    config = tmp_path / "psz2.toml"
    config.write_text(CONFIG)
    return serve_viewer(config)


def wait_for_view(page, ra, dec, timeout=20.0):
    def around():
        (x0, x1), (y0, y1) = view = view_ranges(page)
        return view if min(x0, x1) < ra < max(x0, x1) and y0 < dec < y1 and abs(x1 - x0) < 2 else None

    return wait_until(around, timeout=timeout, interval=0.3, message=f"the map moved to {ra}, {dec}")


def find_box(page):
    return page.locator(".bk-input-group", has_text="Find a name, id or position").locator("input")


def find(page, text):
    box = find_box(page)
    box.fill(text)
    box.press("Enter")


def test_find_by_name_then_position_and_read_the_cursor(psz2_viewer, page):
    page.goto(psz2_viewer, timeout=120_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    # A sparse catalog at full sky: every cluster is a marker (60 here, like PSZ2's 1,653 under the limit).
    wait_for_markers(page, lambda d: len(d.get("object", [])) == 60)
    example = find_box(page).get_attribute("placeholder").split(" · ")[0]  # the box's example: one of this catalog's
    find(page, example)
    page.get_by_text(f"showing the first: {example}").wait_for(timeout=10_000)
    find(page, "psz2 g266.04-21.25")
    wait_for_view(page, 104.6298, -55.9469)
    page.get_by_text("showing the first: PSZ2 G266.04-21.25").wait_for(timeout=10_000)
    data = wait_for_markers(page, lambda d: "PSZ2 G266.04-21.25 (id 1)" in d.get("object", []))
    bullet = data["object"].index("PSZ2 G266.04-21.25 (id 1)")
    assert data["z"][bullet] == "0.296" and data["SNR"][bullet] == "28.40"
    assert "GLON = " in data["more"][bullet] and "REDSHIFT_SOURCE = " in data["more"][bullet]
    # Unknown redshifts (-1 in the file) read as unknown, not as -1.
    find(page, "12:00:00 +10:00:00 30'")
    wait_for_view(page, 180.0, 10.0)
    page.get_by_text("Showing RA 180.00000°").wait_for(timeout=10_000)
    page.mouse.move(*to_screen(page, 180.1, 10.2))
    text = wait_until(lambda: readout(page), timeout=10, interval=0.2, message="the cursor readout")
    assert text.startswith("RA 180.1") and "Dec 10.2" in text and "12:00:2" in text, text


def test_unknown_name_says_so(psz2_viewer, page):
    page.goto(psz2_viewer, timeout=120_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    wait_for_map(page, "PSZ2")  # the session is live: the box's Enter reaches the server
    find(page, "Abell 2744")
    page.get_by_text("No name or id in PSZ2 matches 'Abell 2744'").wait_for(timeout=60_000)  # a loaded machine


def test_a_no_match_message_goes_with_a_catalog_switch(served_viewer, page):
    # It stayed: "No name or id in BOTH matches ..." over the map of AMICO.
    page.goto(served_viewer, timeout=120_000)
    wait_for_map(page, "BOTH")
    find(page, "no such cluster")
    message = page.get_by_text(re.compile(r"^No (name or )?id in BOTH matches 'no such cluster'"))
    message.wait_for(timeout=60_000)
    page.get_by_role("button", name="AMICO", exact=True).click()
    wait_for_map(page, "AMICO")
    message.wait_for(state="detached", timeout=30_000)
    assert page.get_by_text(re.compile(r"^No (name or )?id in")).count() == 0
