"""The condition filter in a real browser: typed in the sidebar, the rows counted under the map are numpy's count,
the link carries it, and a condition naming no column of the catalog is named in a notification and not applied."""

import re
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from ..waiting import wait_until

pytestmark = pytest.mark.ui


def rows_shown(page) -> int | None:
    """The count in the table's title under the map ("1,234 rows in view"), None before it shows."""
    found = page.get_by_text(re.compile(r"[\d,]+ rows? in view"))
    match = re.search(r"([\d,]+) rows? in view", found.first.text_content() or "") if found.count() else None
    return None if match is None else int(match[1].replace(",", ""))


def test_a_typed_condition_filters_the_rows_and_goes_into_the_link(viewer_data, served_viewer, page):
    frame = pd.read_parquet(viewer_data / "data" / "small" / "amico.parquet")
    expected = int(((frame["SNR_CLUSTER"] > 6) & (frame["Z_CLUSTER"] < 0.5)).sum())
    everything = len(frame)
    page.goto(served_viewer + "?catalog=AMICO", timeout=120_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=60_000)
    wait_until(lambda: rows_shown(page) == everything, interval=0.5, timeout=60, message="every AMICO row in view")
    field = page.locator(".bk-input-group", has_text="Where").locator("input")
    field.fill("snr > 6 & z < 0.5")
    field.press("Enter")
    wait_until(lambda: rows_shown(page) == expected, interval=0.5, timeout=60, message=f"{expected} rows after the condition")
    assert 0 < expected < everything
    link = lambda: parse_qs(urlsplit(page.evaluate("location.href")).query)  # noqa: E731  (page.url may show a replaceState late)
    wait_until(lambda: link().get("where") == ["snr > 6 & z < 0.5"], timeout=30, message="the condition in the link")

    field.fill("richnes > 40")
    field.press("Enter")
    page.locator(".notyf__message", has_text="no column richnes").first.wait_for(timeout=30_000)
    assert rows_shown(page) == expected  # the last good condition still holds
