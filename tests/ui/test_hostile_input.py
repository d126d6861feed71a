"""Hostile strings (URL values, catalog and column names, file names, titles, error messages) reach the page as text only.

Each payload sets ``window.__xss`` if the browser ever treats it as HTML; the tests assert it stays unset
and that the payload is visible, literally, in the page.
"""

import time
from urllib.parse import quote

import pytest

from ..viewer.conftest import make_config
from ..waiting import wait_until
from .bokeh_map import monitor_counts

pytestmark = pytest.mark.ui


def payload(where: str) -> str:
    return f"<img src=x.png onerror=window.__xss='{where}'>"  # no slash: it is also a file name


def toggle(where: str) -> str:
    return f"<details open ontoggle=window.__xss='{where}'>"


HOSTILE = f"""
[policy]
name = "AgeBased"

[data]
folders = ["data"]

[catalogs.PZWAV]
files = "data/small/pzwav.parquet"

[catalogs."{payload('catalog')}"]
files = "data/{toggle('file')}.parquet"

[catalogs.COLUMNS]
files = "data/small/amico.parquet"
columns = {{ ra = "RIGHT_ASCENSION_CLUSTER", dec = "DECLINATION_CLUSTER", id = "{payload('column')}" }}

[catalogs.BROKEN]
files = "data/broken.parquet"

[viewer]
title = "{payload('title')}"
catalog = "PZWAV"
"""


def notes(page) -> str:
    return "\n".join(page.locator(".notyf__message").all_inner_texts())


def wait_for_note(page, text: str, timeout: float = 90) -> str:
    return wait_until(lambda: notes(page) if text in notes(page) else None, timeout=timeout, interval=0.2,
                      message=f"a notification containing {text!r}")


def assert_no_script_ran(page) -> None:
    time.sleep(1)  # an onerror/ontoggle handler fires within a few frames of insertion
    assert page.evaluate("window.__xss") is None, f"script ran: window.__xss = {page.evaluate('window.__xss')!r}"


def test_hostile_url_config_and_error_strings_are_shown_as_text(viewer_data, tmp_path, serve_viewer, page):
    # The config file's own name is shown in the monitor: make that hostile too.
    config = make_config(viewer_data, f"xss-{tmp_path.name}-{payload('config-file')}.toml", HOSTILE)
    url = serve_viewer(config)
    page.goto(url + "?catalog=" + quote(payload("url")), timeout=120_000)
    page.get_by_text("Cache monitor").wait_for(timeout=60_000)
    wait_for_note(page, f"Unknown catalog {payload('url')!r}")
    wait_for_note(page, f"Catalog {payload('catalog')!r} is unavailable")  # its file name is in the reason
    assert toggle("file") in notes(page)
    page.get_by_text(payload("config-file")).first.wait_for(timeout=10_000)  # the monitor names the config file
    assert page.title() == payload("title")
    assert_no_script_ran(page)

    page.get_by_role("button", name=payload("catalog"), exact=True).click()  # fails: missing file, named in the error
    wait_for_note(page, f"Catalog {payload('catalog')!r} could not be loaded")
    page.get_by_role("button", name="COLUMNS", exact=True).click()  # fails: the mapped column does not exist
    wait_for_note(page, payload("column"))
    assert_no_script_ran(page)

    page.goto(url + "?catalog=" + quote(toggle("url")), timeout=120_000)
    page.get_by_text("Cache monitor").wait_for(timeout=60_000)
    wait_for_note(page, f"Unknown catalog {toggle('url')!r}")
    assert_no_script_ran(page)


def test_a_session_starting_on_a_broken_catalog_renders_and_offers_the_others(viewer_data, serve_viewer, page):
    url = serve_viewer(make_config(viewer_data, "first-broken.toml", HOSTILE))
    page.goto(url + "?catalog=BROKEN", timeout=120_000)
    alert = page.get_by_text("Catalog 'BROKEN' could not be loaded").first
    alert.wait_for(timeout=60_000)
    assert "broken.parquet" in alert.inner_text()  # the reason names the file
    page.get_by_text("Cache monitor").wait_for(timeout=30_000)
    canvas = page.locator(".vizcache-skymap .bk-Canvas").first
    canvas.wait_for(timeout=30_000)
    page.get_by_role("button", name="PZWAV", exact=True).click()
    page.get_by_text("Catalog 'BROKEN' could not be loaded").first.wait_for(state="hidden", timeout=30_000)
    counts = wait_until(lambda: monitor_counts(page), timeout=30, interval=0.2, message="the monitor's counts")
    assert "1 loads" in counts or "2 loads" in counts, counts
