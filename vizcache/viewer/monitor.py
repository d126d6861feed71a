"""CacheMonitor: what the shared cache is doing, refreshed on a timer without blocking the page.

It reads snapshots (stats, entries, the event log since the last poll, the RSS samples the
runtime keeps), so polling never touches the cache's hot path.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import panel as pn
import param

from ..units import format_bytes
from .runtime import ViewerRuntime
from .text import as_markdown

MiB = 2**20


class CacheMonitor(pn.viewable.Viewer):
    """Live view of a :class:`vizcache.Cache`: policy, RSS against its limits, entries, events.

    >>> CacheMonitor(runtime=runtime, period=1000)
    """

    period = param.Integer(default=1000, bounds=(200, 60_000), doc="Milliseconds between refreshes.")
    history_seconds = param.Integer(default=300, bounds=(10, 600), doc="Seconds of RSS history drawn.")
    max_events = param.Integer(default=200, bounds=(10, 1000), doc="Newest events kept in the log table.")
    last_switch_seconds = param.Number(default=None, allow_None=True, bounds=(0.0, 3600.0),
                                       doc="Latency of the last catalog switch, set by the sky map.")

    def __init__(self, runtime: ViewerRuntime, **params) -> None:
        super().__init__(**params)
        self.runtime = runtime
        self._seq = 0
        self._events = pd.DataFrame(columns=["time", "event", "key", "MB", "seconds", "detail"])
        policy = runtime.cache.policy
        rows = "\n".join(f"| {as_markdown(k)} | {as_markdown(v)} |" for k, v in policy.settings().items())
        self._policy = pn.pane.Markdown(f"**{as_markdown(type(policy).__name__)}** from {as_markdown(runtime.config.path.name)}\n\n"
                                        f"| parameter | value |\n|---|---|\n{rows}",
                                        sizing_mode="stretch_width")
        self._hit_ratio = pn.indicators.Number(label="hit ratio", value=0, format="{value:.0f}%", font_size="22pt", title_size="10pt")
        self._rss = pn.indicators.Number(label="RSS MiB", value=0, format="{value:,.0f}", font_size="22pt", title_size="10pt")
        self._switch = pn.indicators.Number(label="last switch ms", value=0, format="{value:,.0f}", font_size="22pt", title_size="10pt")
        self._counts = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._cache_mib = pn.indicators.Number(label="cache-owned MiB", value=0, format="{value:,.0f}", font_size="22pt", title_size="10pt")
        self._rest_mib = pn.indicators.Number(label="rest of process MiB", value=0, format="{value:,.0f}", font_size="22pt",
                                              title_size="10pt")
        self._rss_source, figure = self._rss_figure()
        self._rss_plot = pn.pane.Bokeh(figure, sizing_mode="stretch_width", height=230)
        self._entries = pn.widgets.Tabulator(pd.DataFrame(), disabled=True, show_index=False, sizing_mode="stretch_width", height=180)
        self._log = pn.widgets.Tabulator(self._events, disabled=True, show_index=False, sizing_mode="stretch_width", height=220,
                                         pagination="local", page_size=8)
        self.refresh()
        if pn.state.curdoc is not None:  # in a served page: poll; the callback dies with the session
            self._callback = pn.state.add_periodic_callback(self.refresh, period=self.period)

    @param.depends("period", watch=True)
    def _set_period(self) -> None:
        if getattr(self, "_callback", None) is not None:
            self._callback.period = self.period

    def _rss_samples(self) -> dict:
        since = time.time() - self.history_seconds
        samples = [sample for sample in list(self.runtime.rss_history) if sample[0] >= since]
        times, rss, managed = (np.array(column, dtype=float) for column in zip(*samples)) if samples else ([], [], [])
        return {"time": np.asarray(times) * 1e3, "rss": np.asarray(rss) / MiB, "managed": np.asarray(managed) / MiB}

    def _rss_figure(self):
        """RSS and the part of it the cache owns, over time, with the policy's limit and water marks.

        A plain Bokeh figure whose data is replaced each refresh (a HoloViews plot cost every new
        session ~100 ms of server time)."""
        from bokeh.models import ColumnDataSource, Span
        from bokeh.plotting import figure

        source = ColumnDataSource(self._rss_samples())
        plot = figure(height=220, sizing_mode="stretch_width", x_axis_type="datetime", toolbar_location=None, y_axis_label="MiB",
                      title="process RSS (blue) and cache-owned memory (purple); limit (red), high (orange), low (green) water")
        plot.title.text_font_size = "9pt"
        plot.line("time", "rss", source=source, color="#1f77b4", line_width=2)
        plot.line("time", "managed", source=source, color="#7b1fa2", line_width=2)
        policy = self.runtime.cache.policy
        for attr, color in (("limit_bytes", "red"), ("high_bytes", "orange"), ("low_bytes", "green")):
            if getattr(policy, attr, None):
                plot.add_layout(Span(location=getattr(policy, attr) / MiB, dimension="width", line_color=color, line_dash="dashed"))
        return source, plot

    def refresh(self) -> None:
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
                               f"{format_bytes(stats['bytes_reclaimed'])} reclaimed · policy overhead {stats['overhead_seconds'] * 1e3:,.1f} ms{warning}")
        entries = pd.DataFrame([
            {"key": " ".join(map(str, (e["key"][0], *e["key"][2:]))) if isinstance(e["key"], tuple) else str(e["key"]), "age s": round(e["age_s"], 1), "hits": e["hits"],
             "load s": round(e["load_seconds"], 3), "RSS delta MB": round(e["rss_delta_bytes"] / 1e6, 1),
             "estimated MB": None if e["estimated_bytes"] is None else round(e["estimated_bytes"] / 1e6, 1)}
            for e in reversed(cache.entries())
        ])
        self._entries.value = entries
        new = cache.events.since(self._seq)
        if new:
            self._seq = new[-1].seq
            rows = pd.DataFrame([{"time": time.strftime("%H:%M:%S", time.localtime(e.time)), "event": e.kind,
                                  "key": e.key, "MB": None if e.bytes is None else round(e.bytes / 1e6, 1),
                                  "seconds": None if e.latency is None else round(e.latency, 3), "detail": e.detail} for e in reversed(new)])
            self._events = pd.concat([rows, self._events], ignore_index=True).head(self.max_events)
            self._log.value = self._events
        self._cache_mib.value = stats["managed_bytes"] / MiB
        self._rest_mib.value = stats["unmanaged_bytes"] / MiB
        samples = self._rss_samples()
        # A raw Bokeh model changes only under its document's lock: from the refresh thread, on the next tick.
        pn.state.execute(lambda: setattr(self._rss_source, "data", samples))

    def __panel__(self):
        return pn.Column(
            "### Cache monitor",
            self._policy,
            pn.Row(self._hit_ratio, self._rss, self._switch),
            pn.Row(self._cache_mib, self._rest_mib),
            "Sessions, libraries and anything else outside the cache count in the rest of the process, not in the cache.",
            self._counts,
            self._rss_plot,
            "**Entries** (most recently used first)",
            self._entries,
            "**Log** (loads, evictions, rejections, warnings)",
            self._log,
            sizing_mode="stretch_width",
        )
