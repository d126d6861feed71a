"""CacheMonitor: what the shared cache is doing, refreshed on a timer without blocking the page.

It reads snapshots (stats, entries, the event log since the last poll, the RSS samples the
runtime keeps), so polling never touches the cache's hot path.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Hashable

import numpy as np
import pandas as pd
import panel as pn
import param

from ..cache_key import key_label
from ..sizing import nbytes_size
from ..units import format_bytes
from .function_stats import FunctionTable
from .page_life import page_ended, refresh_page, served_document
from .runtime import ViewerRuntime
from .text import as_markdown

MiB = 2**20
#: the policy's memory marks drawn on the RSS plot: attribute, legend label, colour
MARKS = (("limit_bytes", "limit", "red"), ("high_bytes", "high water", "orange"), ("low_bytes", "low water", "green"))
LOG_COLUMNS = ["time", "event", "key", "size", "why"]
#: pages of one server process whose monitors refresh every ``period``; with more pages open, each
#: refreshes that many times less often, so the process refreshes about this many monitors a period
#: (each refresh sends its page whatever changed: 20 pages a second were ~14 % of a busy server)
FULL_RATE_PAGES = 5
_served_monitors: weakref.WeakSet = weakref.WeakSet()
_served_lock = threading.Lock()  # pages are added on the server's thread, counted on Panel's pool


def open_pages() -> int:
    """Served pages of this process whose monitor is open (their session has not ended)."""
    with _served_lock:
        monitors = list(_served_monitors)
    return sum(1 for monitor in monitors if not page_ended(monitor._doc))


def data_bytes(value) -> int | None:
    """Memory a cached catalog's rows hold (strings included), or None when it is not in memory
    (a Dask catalog). The RSS growth around a load can be 0 when freed memory was reused."""
    data = getattr(value, "data", value)
    if isinstance(data, pd.DataFrame):
        return int(data.memory_usage(deep=True, index=True).sum())
    return nbytes_size(data) or None


def _size(nbytes: int | None) -> str:
    # In the unit that suits it: a 60-row catalog's 12 KiB is not "0.0 MiB".
    return "" if nbytes is None else format_bytes(nbytes)


class CacheMonitor(pn.viewable.Viewer):
    """Live view of a :class:`vizcache.Cache`: policy, RSS against its limits, entries, events.

    >>> CacheMonitor(runtime=runtime, period=1000)
    """

    period = param.Integer(default=1000, bounds=(200, 60_000), doc="Milliseconds between refreshes.")
    history_seconds = param.Integer(default=300, bounds=(10, 600), doc="Seconds of RSS history drawn.")
    max_events = param.Integer(default=200, bounds=(10, 1000), doc="Newest events kept in the log table.")
    last_switch_seconds = param.Number(default=None, allow_None=True, bounds=(0.0, 3600.0),
                                       doc="Server time of the last catalog switch (load or hit, then aggregation), set by the sky map.")

    def __init__(self, runtime: ViewerRuntime, **params) -> None:
        super().__init__(**params)
        self.runtime = runtime
        self._seq = 0
        self._refreshing = threading.Lock()
        self._hits_seen: dict[str, int] | None = None  # per-entry hit counts at the last refresh
        self._sizes: dict[Hashable, int | None] = {}  # key -> data bytes of the live entries
        self._sizes_gone: dict[Hashable, int | None] = {}  # ... of the entries at the refresh before
        self._hits_total: int | None = None
        self._events = pd.DataFrame(columns=LOG_COLUMNS)
        policy = runtime.cache.policy
        rows = "\n".join(f"| {as_markdown(k)} | {as_markdown(v)} |" for k, v in policy.settings().items())
        self._policy = pn.pane.Markdown(f"**{as_markdown(type(policy).__name__)}** from {as_markdown(runtime.config.path.name)}\n\n"
                                        f"| parameter | value |\n|---|---|\n{rows}",
                                        sizing_mode="stretch_width")
        number = dict(font_size="22pt", title_size="10pt")
        self._hit_ratio = pn.indicators.Number(label="hit ratio", value=0, format="{value:.0f}%", **number)
        self._rss = pn.indicators.Number(label="RSS MiB", value=0, format="{value:,.0f}", **number)
        # Measured in the server: the browser draws the new map after this (see the note below it).
        self._switch = pn.indicators.Number(label="last switch, server ms", value=0, format="{value:,.0f}", **number)
        self._counts = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._cache_mib = pn.indicators.Number(label="cache-owned MiB", value=0, format="{value:,.0f}", **number)
        self._rest_mib = pn.indicators.Number(label="rest of process MiB", value=0, format="{value:,.0f}", **number)
        self._rss_source, figure = self._rss_figure()
        self._rss_plot = pn.pane.Bokeh(figure, sizing_mode="stretch_width", height=260)
        # fit_columns: every column inside the table's width, none scrolled out of sight; no sorting
        # (the order is the cache's), so no header loses its text to a sort arrow.
        self._entries = pn.widgets.Tabulator(pd.DataFrame(), disabled=True, show_index=False, sizing_mode="stretch_width", height=200,
                                             layout="fit_columns", sortable=False, titles={"key": "catalog"}, widths={"key": "28%"},
                                             text_align={"data": "right", "RSS +": "right"})
        # Paged on the server: a new row sends the page shown, not the whole log (up to max_events rows).
        self._log = pn.widgets.Tabulator(self._events, disabled=True, show_index=False, sizing_mode="stretch_width",
                                         pagination="remote", page_size=5, layout="fit_columns", sortable=False, titles={"key": "catalog"},
                                         widths={"time": 84, "event": 76, "key": "22%", "size": 84},
                                         text_align={"size": "right"}, formatters={"why": {"type": "textarea"}})  # wrapped: the reason is read whole
        self._functions = FunctionTable()
        self._doc = served_document()
        self._refreshed_at = -float("inf")  # time.monotonic() of the timer's last refresh
        if self._doc is not None:
            with _served_lock:
                _served_monitors.add(self)
        self.refresh()
        if pn.state.curdoc is not None:  # in a served page: poll; the callback dies with the session
            self._callback = pn.state.add_periodic_callback(self._tick, period=self.period)

    @param.depends("period", watch=True)
    def _set_period(self) -> None:
        if getattr(self, "_callback", None) is not None:
            self._callback.period = self.period

    def _marks(self) -> list[tuple[str, float, str]]:
        policy = self.runtime.cache.policy
        return [(label, getattr(policy, attr) / MiB, color) for attr, label, color in MARKS if getattr(policy, attr, None)]

    def _rss_samples(self, after: float | None = None) -> tuple[dict, int, float | None]:
        """The plot's columns for the RSS samples of the last ``history_seconds`` (only those taken
        after ``after``, if given), how many samples that window holds, and the newest one's time."""
        since = time.time() - self.history_seconds
        window = [sample for sample in list(self.runtime.rss_history) if sample[0] >= since]
        samples = window if after is None else [sample for sample in window if sample[0] > after]
        times, rss, managed = (np.array(column, dtype=float) for column in zip(*samples)) if samples else ([], [], [])
        # Log axis: from 1 MiB (an empty cache is drawn there), so RSS stays readable beside a 12-GiB limit.
        data = {"time": np.asarray(times) * 1e3, "rss": np.maximum(np.asarray(rss) / MiB, 1.0),
                "managed": np.maximum(np.asarray(managed) / MiB, 1.0)}
        # The marks as lines of the same source: the y-range then takes them in (a Span it ignores).
        data.update({label: np.full(len(data["time"]), level) for label, level, _ in self._marks()})
        # Lists, not numpy arrays: those reach BokehJS as typed arrays, whose stream with a rollover below
        # the column's length (fewer samples in the window, e.g. a sampler slowed by loads) shifts the
        # column but keeps its old last values, so the line went back in time. Plain arrays are cut right.
        return {name: column.tolist() for name, column in data.items()}, len(window), samples[-1][0] if samples else after

    def _rss_figure(self):
        """RSS and the part of it the cache owns, over time, with the policy's limit and water marks.

        A plain Bokeh figure whose data is replaced each refresh (a HoloViews plot cost every new
        session ~100 ms of server time)."""
        from bokeh.models import ColumnDataSource, DatetimeTickFormatter, Legend, NumeralTickFormatter
        from bokeh.plotting import figure

        # what the page has: the newest sample, the marks, the number of samples
        data, self._drawn_count, self._drawn_until = self._rss_samples()
        self._drawn_marks = self._marks()
        source = ColumnDataSource(data)
        plot = figure(sizing_mode="stretch_width", height=250, x_axis_type="datetime", y_axis_type="log", toolbar_location=None,
                      y_axis_label="MiB (log)", title="Memory over time")
        plot.title.text_font_size = "10pt"
        plot.yaxis.formatter = NumeralTickFormatter(format="0,0")  # 10,000 rather than 10⁴
        # Clock times only, few of them: dates and 5-minute spans of seconds overlapped in a narrow plot.
        plot.xaxis.formatter = DatetimeTickFormatter(seconds="%H:%M:%S", minsec="%H:%M:%S", minutes="%H:%M", hourmin="%H:%M",
                                                     hours="%H:%M", context=None)
        plot.xaxis.ticker.desired_num_ticks = 4
        items = [("process RSS", [plot.line("time", "rss", source=source, color="#1f77b4", line_width=2)]),
                 ("cache-owned", [plot.line("time", "managed", source=source, color="#7b1fa2", line_width=2)])]
        items += [(label, [plot.line("time", label, source=source, color=color, line_dash="dashed")]) for label, _, color in self._marks()]
        plot.add_layout(Legend(items=items, orientation="horizontal", ncols=3, label_text_font_size="8pt", spacing=4, padding=2,
                               margin=2, border_line_alpha=0), "below")
        return source, plot

    # -- one refresh -----------------------------------------------------------------

    def _entry_rows(self) -> pd.DataFrame:
        cache, known = self.runtime.cache, self._sizes
        # Sized once per key (a cached value never changes); evicted keys are kept until their events are shown.
        self._sizes = {e.key: known[e.key] if e.key in known else
                       e.reported_bytes if e.reported_bytes is not None else data_bytes(e.value) for e in cache.entry_objects()}
        self._sizes_gone = known
        return pd.DataFrame([
            # when it was loaded, not its age: a row that changes every second would resend the table
            # to every open page every second
            {"key": key_label(e["key"]), "hits": e["hits"], "loaded": time.strftime("%H:%M:%S", time.localtime(e["inserted"])),
             "load s": round(e["load_seconds"], 3),
             "data": _size(self._sizes.get(e["key"])), "RSS +": _size(e["rss_delta_bytes"])}
            for e in reversed(cache.entries())
        ])

    def _hit_row(self, entries: pd.DataFrame, total_new: int) -> dict | None:
        """One log row for every hit since the last refresh, per catalog.

        A row per hit would flood the log: every page opened hits its catalog, and panning a HATS
        catalog hits dozens of partitions a second, pushing out the loads and evictions that
        explain memory. One row a refresh at most keeps them, and still shows that a hit happened."""
        counts = dict(zip(entries["key"], entries["hits"])) if len(entries) else {}
        seen, self._hits_seen = self._hits_seen, counts
        if seen is None or total_new <= 0:  # the first refresh only takes stock
            return None
        new = {key: n - seen.get(key, 0) for key, n in counts.items() if n > seen.get(key, 0)}
        keys = ", ".join(f"{key} ×{n}" for key, n in sorted(new.items(), key=lambda kv: -kv[1])[:4]) + (" …" if len(new) > 4 else "")
        return {"time": time.strftime("%H:%M:%S"), "event": "hits", "key": keys, "size": "",
                "why": f"{total_new} served from the cache, nothing loaded"}

    def _event_row(self, event) -> dict:
        if event.kind == "load" and event.latency is not None:
            timing = f"loaded in {event.latency:.2f} s, counted {format_bytes(event.bytes)}"  # what the policy adds up
        else:
            timing = "" if event.latency is None else f"{event.latency:.2f} s"
        return {"time": time.strftime("%H:%M:%S", time.localtime(event.time)), "event": event.kind, "key": key_label(event.key),
                "size": _size({**self._sizes_gone, **self._sizes}.get(event.key, event.bytes)),
                "why": "; ".join(part for part in (timing, event.detail) if part)}

    def refresh(self) -> None:
        # Panel runs periodic callbacks on its thread pool: a refresh still running when the next is
        # due would send the same events and samples twice. The later one is skipped.
        if not self._refreshing.acquire(blocking=False):
            return
        try:
            refresh_page(self._doc, self._refresh)
        finally:
            self._refreshing.release()

    def _tick(self) -> None:
        """The timer's refresh: every ``period``, or less often with more than ``FULL_RATE_PAGES``
        pages open (a quarter period early counts, for the timer's jitter)."""
        now = time.monotonic()
        every = self.period / 1000 * max(1.0, open_pages() / FULL_RATE_PAGES)
        if self._refreshed_at <= now < self._refreshed_at + 0.75 * every:
            return
        self._refreshed_at = now
        self.refresh()

    def _refresh(self) -> None:
        cache = self.runtime.cache
        stats = cache.stats()
        self._hit_ratio.value = 100 * stats["hit_ratio"]
        self._rss.value = stats["rss"] / MiB
        if self.last_switch_seconds is not None:
            self._switch.value = 1000 * self.last_switch_seconds
        warning = f"\n\n⚠ {as_markdown(stats['warnings'][-1])}" if stats["warnings"] else ""
        if "limit_bytes" in stats:
            warning = (f"\n\nlimit {format_bytes(stats['limit_bytes'])} ({stats['limit_source']}), high water "
                       f"{format_bytes(stats['high_water_bytes'])}, low water {format_bytes(stats['low_water_bytes'])}{warning}")
        self._counts.object = (f"{stats['hits']:,} hits · {stats['misses']:,} misses · {stats['loads']:,} loads · "
                               f"{stats['evictions']:,} evictions · {stats['rejections']:,} rejections · "
                               f"{format_bytes(stats['bytes_reclaimed'])} reclaimed · "
                               f"policy overhead {stats['overhead_seconds'] * 1e3:,.1f} ms{warning}")
        entries = self._entry_rows()
        if not entries.equals(self._entries.value):  # unchanged: nothing goes to the page
            self._entries.value = entries
        hits_before, self._hits_total = self._hits_total, stats["hits"]
        new = cache.events.since(self._seq)
        if new:
            self._seq = new[-1].seq
        hit_row = self._hit_row(entries, 0 if hits_before is None else stats["hits"] - hits_before)
        rows = ([hit_row] if hit_row else []) + [self._event_row(e) for e in reversed(new)]
        if rows:
            self._events = pd.concat([pd.DataFrame(rows, columns=LOG_COLUMNS), self._events], ignore_index=True).head(self.max_events)
            self._log.value = self._events
        self._cache_mib.value = stats["managed_bytes"] / MiB
        self._rest_mib.value = stats["unmanaged_bytes"] / MiB
        self._functions.refresh()
        self._send_samples()

    def _send_samples(self) -> None:
        """Only the new RSS samples go to the page, streamed; rollover drops those that left the
        window. All of them when the marks changed or samples left the window with none new.

        A raw Bokeh model changes only under its document's lock: from the refresh thread, on the next tick.
        """
        marks = self._marks()
        new, window, newest = self._rss_samples(after=self._drawn_until)
        if marks != self._drawn_marks or (not len(new["time"]) and window < self._drawn_count):
            data, window, newest = self._rss_samples()
            self._drawn_marks, self._drawn_count, self._drawn_until = marks, window, newest
            pn.state.execute(lambda: setattr(self._rss_source, "data", data))
        elif len(new["time"]):
            self._drawn_count, self._drawn_until = window, newest
            pn.state.execute(lambda: self._rss_source.stream(new, rollover=window))

    def __panel__(self):
        return pn.Card(
            self._policy,
            pn.Row(self._hit_ratio, self._rss, self._switch),
            pn.pane.Markdown("The switch is timed on the server, from the click to the new map image; the browser "
                             "draws it after that.", styles={"font-size": "smaller"}, sizing_mode="stretch_width"),
            pn.Row(self._cache_mib, self._rest_mib),
            "Sessions, libraries and anything else outside the cache count in the rest of the process, not in the cache.",
            self._counts,
            self._rss_plot,
            "**Entries** (most recently used first; data: the rows in memory, RSS +: the process's growth while loading, "
            "which the policy counts and which is 0 when freed memory was reused)",
            self._entries,
            "**Log** (loads, hits, evictions, rejections, warnings; newest first)",
            self._log,
            self._functions.view,
            title="Cache monitor", collapsible=True, sizing_mode="stretch_width",
        )
