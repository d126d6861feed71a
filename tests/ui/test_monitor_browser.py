"""The cache monitor read in a real browser at 1440 px: why things happened, in words and in range."""

import re
import time
from pathlib import Path

import numpy as np
import pytest

from vizcache.viewer.monitor import CacheMonitor

from ..viewer.conftest import CONFIG, make_config
from ..viewer.test_monitor import runtime, sample  # noqa: F401  (the fixture: an RSS history the test writes)
from ..waiting import wait_until
from .bokeh_figures import columns_inside, overlapping, table_cells, tick_labels, title_fit, y_range
from .bokeh_map import monitor_counts, wait_for_map

pytestmark = pytest.mark.ui

MiB = 2**20
CATALOGS = {"PZWAV", "AMICO", "BOTH", "MEMBERS"}


def rss_config(limit: str) -> str:
    return CONFIG.replace('name = "AgeBased"\nmax_age = 3600\nmax_idle = 3600',
                          f'name = "RSSThresholdLRU"\nlimit = "{limit}"\nhigh_water = 0.8\nlow_water = 0.7')


def open_monitor(page, url):
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(url, timeout=120_000)
    page.get_by_text("Cache monitor").wait_for(timeout=60_000)
    page.locator(".vizcache-skymap .bk-Canvas").first.wait_for(timeout=60_000)
    wait_for_map(page)
    wait_until(lambda: monitor_counts(page), timeout=60, message="the monitor's counts")


def log_table(page):
    return page.locator(".tabulator:has(.tabulator-col[tabulator-field=why])").first


def entries_table(page):
    return page.locator(".tabulator:has(.tabulator-col[tabulator-field='RSS +'])").first


def wait_for_log(page, predicate, timeout=30.0) -> list[str]:
    def matching_rows():
        rows = log_table(page).locator(".tabulator-row").all_inner_texts()
        return rows if predicate(rows) else None

    return wait_until(matching_rows, timeout=timeout, interval=0.5, message="log rows matching")


def test_monitor_says_what_happened_and_why(viewer_data, serve_viewer, page, tmp_path):
    url = serve_viewer(make_config(viewer_data, f"ui-monitor-{tmp_path.name}.toml", rss_config("4GB")))
    open_monitor(page, url)
    page.get_by_role("button", name="PZWAV", exact=True).click()
    wait_for_map(page, "PZWAV")
    page.get_by_role("button", name="BOTH", exact=True).click()  # a hit: BOTH was loaded first
    rows = wait_for_log(page, lambda rows: any("hits" in r and "BOTH ×1" in r for r in rows))
    log = log_table(page)
    log.scroll_into_view_if_needed()
    # Every column, the reason included, inside the table's width; the reason in words.
    assert all(columns_inside(log).values()), columns_inside(log)
    assert any("loaded in" in r and "RSS delta" in r for r in rows), rows
    assert not any("(" in key or "'" in key for key in table_cells(page, log, "key")), table_cells(page, log, "key")
    entries = entries_table(page)
    assert all(columns_inside(entries).values()), columns_inside(entries)
    assert set(table_cells(page, entries, "key")) == {"BOTH", "PZWAV"}  # names, not (name, fingerprint) tuples
    sizes = table_cells(page, entries, "data")  # the rows in memory, in a unit that suits them: never 0.0
    assert len(sizes) == 2 and all(re.fullmatch(r"[1-9]\d*\.\d\d KiB|\d+\.\d\d MiB", s) and float(s.split()[0]) > 0 for s in sizes), sizes
    # The limit and both water marks are inside the plot's y-range.
    low, high = y_range(page, "Memory over time")
    for level in (4e9, 0.8 * 4e9, 0.7 * 4e9):
        assert low <= level / MiB <= high, (low, high, level / MiB)
    fit = title_fit(page, "Memory over time")
    assert fit["width"] <= fit["frame"], fit
    now = time.time() * 1e3
    for seconds in (30, 120, 300):  # the history the plot keeps grows to 5 minutes
        labels = tick_labels(page, "Memory over time", "x", now - seconds * 1e3, now)
        assert len(labels) >= 2 and not overlapping(labels), labels
    # The switch time says where it was measured.
    page.get_by_text("last switch, server ms").wait_for(timeout=5_000)


def test_warnings_read_without_nan(viewer_data, serve_viewer, page, tmp_path):
    # A limit under the viewer's own RSS: the policy warns that what is not the cache's keeps RSS up.
    url = serve_viewer(make_config(viewer_data, f"ui-monitor-low-{tmp_path.name}.toml", rss_config("120MB")))
    open_monitor(page, url)
    page.get_by_role("button", name="PZWAV", exact=True).click()
    rows = wait_for_log(page, lambda rows: any("warning" in r for r in rows))
    log = log_table(page)
    assert not any("NaN" in cell for field in ("time", "event", "key", "size", "why") for cell in table_cells(page, log, field))
    warning = next(r for r in rows if "warning" in r)
    assert "RSS" in warning, warning  # the reason, in words


# The RSS plot as BokehJS holds it: numpy arrays arrive as typed arrays (Bokeh's serialiser sends them
# as buffers), lists as plain arrays; each stream is applied by BokehJS's own ColumnDataSource.stream.
REPLAY_JS = """([initial, streams]) => {
  const column = (c) => c.typed ? new Float64Array(c.values) : c.values;
  const data = {};
  for (const [name, c] of Object.entries(initial)) data[name] = column(c);
  const source = new Bokeh.ColumnDataSource({data});
  for (const [new_data, rollover] of streams) {
    const columns = {};
    for (const [name, c] of Object.entries(new_data)) columns[name] = column(c);
    source.stream(columns, rollover);
  }
  return Array.from(source.data.time);
}"""


def _as_sent(data: dict) -> dict:
    return {name: {"typed": isinstance(c, np.ndarray), "values": [float(v) for v in c]} for name, c in data.items()}


def test_memory_plot_never_runs_back_in_time_when_the_window_holds_fewer_samples(runtime, monkeypatch, page):  # noqa: F811
    """Fewer samples in the window than drawn (a sampler slowed by loads, old samples leaving) with a
    new one: BokehJS streamed that into typed arrays as [..., newest, previous newest], a line back in time."""
    import bokeh
    from bokeh.models import ColumnDataSource

    now = time.time()
    for t in range(10, 0, -1):
        sample(runtime, now - t)
    monitor = CacheMonitor(runtime=runtime)
    initial, streamed = _as_sent(monitor._rss_source.data), []
    stream = ColumnDataSource.stream
    monkeypatch.setattr(ColumnDataSource, "stream", lambda self, data, rollover=None: (streamed.append((_as_sent(data), rollover)),
                                                                                        stream(self, data, rollover)))
    for step in range(3):  # each refresh: two old samples gone, one new
        runtime.rss_history.popleft()
        runtime.rss_history.popleft()
        sample(runtime, now + step * 0.1)
        monitor.refresh()
    assert streamed, "the new samples are streamed, not redrawn whole"
    js = Path(bokeh.__file__).parent / "server" / "static" / "js"
    page.set_content("<html><body></body></html>")
    page.add_script_tag(path=str(js / "bokeh.min.js"))
    page.add_script_tag(path=str(js / "bokeh-api.min.js"))
    drawn = page.evaluate(REPLAY_JS, [initial, streamed])
    assert drawn == list(monitor._rss_source.data["time"]) == sorted(drawn), drawn
    assert len(drawn) == 7 and drawn[-1] == (now + 0.2) * 1e3
