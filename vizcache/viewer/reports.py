"""ReportList: the `vizcache compare` reports found in the configured folder, with their verdicts.

Only ``*/summary.md`` and ``*/report.html`` directly inside the folder are read, after
resolving links, so the list can never reach a file elsewhere.
"""

from __future__ import annotations

import time
from pathlib import Path

import panel as pn
import param

from .text import as_html, as_markdown


def find_reports(folder: Path) -> list[dict]:
    """Newest first: name, time, the verdict lines and the HTML file of each report folder."""
    folder = folder.resolve()
    reports = []
    for summary in folder.glob("*/summary.md"):
        summary = summary.resolve()
        html = summary.with_name("report.html")
        if folder not in summary.parents or not html.is_file():
            continue
        text = summary.read_text(encoding="utf-8", errors="replace")
        verdicts = [line[2:] for line in text.split("## Verdict", 1)[-1].splitlines() if line.startswith("* ")]
        title = text.splitlines()[0].lstrip("# ") if text else summary.parent.name
        reports.append({"name": summary.parent.name, "title": title, "mtime": summary.stat().st_mtime, "verdicts": verdicts, "html": html})
    return sorted(reports, key=lambda r: r["mtime"], reverse=True)


class ReportList(pn.viewable.Viewer):
    """A card per comparison report: when, its verdict lines, and the self-contained HTML to download."""

    max_reports = param.Integer(default=10, bounds=(1, 100), doc="Newest reports shown.")
    max_verdicts = param.Integer(default=5, bounds=(1, 30), doc="Verdict lines shown per report.")

    def __init__(self, folder: Path | None, **params) -> None:
        super().__init__(**params)
        self.folder = folder

    def __panel__(self):
        # The sidebar is for the people looking at the sky: no section (and no server path) when
        # there is nothing to list.
        found = find_reports(self.folder) if self.folder is not None and self.folder.is_dir() else []
        cards = []
        for report in found[: self.max_reports]:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(report["mtime"]))
            lines = "\n".join(f"* {as_markdown(v)}" for v in report["verdicts"][: self.max_verdicts])
            download = pn.widgets.FileDownload(file=str(report["html"]), filename=f"{report['name']}.html", label="report.html", width=140)
            cards.append(pn.Card(pn.pane.Markdown(f"{when}\n\n{lines}", sizing_mode="stretch_width"), download,
                                 title=as_html(report["title"]), collapsed=len(cards) > 0, sizing_mode="stretch_width"))
        heading = pn.pane.Markdown("### Comparison reports", sizing_mode="stretch_width")
        return pn.Column(pn.layout.Divider(), heading, *cards, visible=bool(cards), sizing_mode="stretch_width")
