"""The live A/B card beside the cache monitor: what every other policy and budget would have done on this server's requests.

It reads the runtime's shadows (:mod:`vizcache.live.shadows`), so a refresh costs a snapshot and a
bootstrap, never the cache's lock. See docs/live-ab.md.
"""

from __future__ import annotations

import logging
import threading
import weakref
from pathlib import Path

import panel as pn
import param

from ..live.ab import Decisions, summary_line, write_report
from ..live.shadows import policy_label
from ..units import format_bytes
from .page_life import refresh_page, served_document
from .runtime import ViewerRuntime
from .text import as_markdown

MiB = 2**20
log = logging.getLogger(__name__)
_report_lock = threading.Lock()  # one report at a time per process, whichever session clicks
_running: dict[int, tuple[Path, object]] = {}  # id(runtime) -> (folder, process) of the report being written
_decisions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # shadow set -> its Decisions, shared by every session


def _folded(result: dict) -> str:
    """The recommendation in a few words, and the rule's whole text (every comparison it rests on) behind a click."""
    base, choice, action = result["baseline"], result["choice"], result["action"]
    base_fails = bool(result["baseline_result"] and result["baseline_result"]["fails"])
    head = {"switch": f"Switch from {base} to {choice}", "keep": f"Keep {base}", "none": "No recommendation",
            "tie": (f"Leave {base} (it does not meet the objectives), but for which the results do not say" if base_fails
                    else f"Keep {base}: the candidates that beat it tie")}[action]
    return f"<details><summary>{as_markdown(head)}</summary>{as_markdown(result['recommendation'])}</details>"


class LiveAB(pn.viewable.Viewer):
    """Shadow hit ratios with intervals, `vizcache compare`'s decision on them, the miss-ratio curve, and a report button."""

    period = param.Integer(default=5000, bounds=(1000, 600_000), doc="Milliseconds between refreshes (a bootstrap each).")

    def __init__(self, runtime: ViewerRuntime, **params) -> None:
        super().__init__(**params)
        self.runtime, self.shadows = runtime, runtime.shadows
        self._baseline = policy_label(runtime.cache.policy)
        if self.shadows is not None:
            with _report_lock:
                self._decisions = _decisions.setdefault(self.shadows, Decisions(self.shadows, self._baseline))
        self._line = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._decision = pn.pane.Markdown("", sizing_mode="stretch_width", styles={"font-size": "smaller"})
        self._notes = pn.pane.Markdown("", sizing_mode="stretch_width", styles={"font-size": "smaller"})
        self._curve_source, figure = self._curve_figure()
        self._curve = pn.pane.Bokeh(figure, sizing_mode="stretch_width", height=230)
        folder = runtime.config.viewer.reports
        self._reports = (runtime.base / folder).resolve() if folder else None
        self._button = pn.widgets.Button(name="Write a vizcache compare report of this window", button_type="primary",
                                         disabled=self._reports is None or self.shadows is None)
        self._button.on_click(self._write_report)
        self._status = pn.pane.Markdown("" if self._reports else "No `[viewer] reports` folder is configured: reports cannot be written.",
                                        sizing_mode="stretch_width", styles={"font-size": "smaller"})
        self._doc = served_document()
        self.refresh()
        if pn.state.curdoc is not None and self.shadows is not None:
            self._callback = pn.state.add_periodic_callback(self.refresh, period=self.period)

    @staticmethod
    def _curve_figure():
        from bokeh.models import ColumnDataSource, Span
        from bokeh.plotting import figure

        source = ColumnDataSource({"budget": [], "hit_ratio": []})
        plot = figure(sizing_mode="stretch_width", height=220, toolbar_location=None, y_range=(0, 1.02),
                      x_axis_label="budget, MiB", y_axis_label="hit ratio", title="Hit ratio against budget (this traffic)")
        plot.title.text_font_size = "10pt"
        plot.line("budget", "hit_ratio", source=source, line_width=2, color="#1f77b4")
        plot.scatter("budget", "hit_ratio", source=source, size=6, color="#1f77b4")
        plot.add_layout(Span(location=0, dimension="height", line_dash="dashed", line_color="red", name="budget"))
        return source, plot

    def refresh(self) -> None:
        refresh_page(self._doc, self._refresh)

    def _refresh(self) -> None:
        if self.shadows is None:
            self._line.object = ("No live A/B: it needs a trace (`[trace] path`) and a policy with a memory bound "
                                 "(`limit` or `budget`).")
            return
        figures = self.shadows.snapshot()
        self._line.object = as_markdown(summary_line(figures))
        result = self._decisions.get()
        self._decision.object = (f"**Decision** (`vizcache compare`'s rule, each minute of traffic a repetition, baseline "
                                 f"{as_markdown(self._baseline)}, made every {self._decisions.every_s / 60:g} minutes): "
                                 + (_folded(result) if result else "being made …"))
        sizes = figures["sizes_from"]
        self._notes.object = as_markdown(
            f"Budget {format_bytes(figures['budget'])}; {figures['keys']} keys, sized by their loaders ({sizes['reported']}) or by "
            f"the RSS growth around their load ({sizes['rss delta']}, an estimate); {figures['unsized_requests']} requests for keys "
            f"without a size yet left out. This server process only.")
        curve = figures.get("curve")
        if curve:
            data = {"budget": [b / MiB for b in curve["budgets"]], "hit_ratio": [h if h is not None else float("nan") for h in curve["hit_ratio"]]}
            budget_mib = figures["budget"] / MiB

            def push() -> None:
                self._curve_source.data = data
                self._curve.object.select_one({"name": "budget"}).location = budget_mib
                self._curve.object.title.text = (f"{curve['policy']}: hit ratio against budget"
                                                 + (f" (SHARDS sample, rate {curve['rate']:g})" if curve["rate"] < 1 else ""))
            pn.state.execute(push)
        self._refresh_status()

    def _refresh_status(self) -> None:
        running = _running.get(id(self.runtime))
        if running is None:
            return
        folder, proc = running
        code = proc.poll()
        where = as_markdown(folder.name)
        if code is None:
            self._status.object = f"Writing the report into {where} (`vizcache compare` running) …"
        else:
            self._status.object = (f"Report written: {where}/report.html" if code == 0
                                   else f"`vizcache compare` ended with code {code}: see {where}/compare.log")

    def _write_report(self, _event=None) -> None:
        with _report_lock:
            running = _running.get(id(self.runtime))
            if running is not None and running[1].poll() is None:
                self._refresh_status()
                return
            self.runtime.cache.flush_trace()
            try:
                folder, proc = write_report(self.shadows.trace_path, self.shadows.trace_offset, self._reports,
                                            self.shadows.snapshot(), self._baseline)
            except (OSError, ValueError) as exc:
                self._status.object = as_markdown(f"No report: {exc}")
                return
            _running[id(self.runtime)] = (folder, proc)
        self._refresh_status()

    def __panel__(self):
        return pn.Card(self._line, self._decision, self._curve, self._notes, self._button, self._status,
                       title="Live A/B on this server's traffic", collapsible=True, sizing_mode="stretch_width")
