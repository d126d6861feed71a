"""ReportList: the `vizcache compare` reports found in the configured folder, with their verdicts.

Only ``*/summary.md`` and ``*/report.html`` inside the folder are read, each after resolving every
link, so the list can never show or serve a file elsewhere (a ``report.html`` that links to
``/etc/passwd`` is no report). The HTML is checked again, and read, when its download is asked for:
a file swapped for a link after the page was built is refused then too.
"""

from __future__ import annotations

import io
import os
import stat
import time
from pathlib import Path

import panel as pn
import param

from .text import as_html, as_markdown

#: a summary's title and verdicts are at its top: a bigger file is read only this far
SUMMARY_MAX_BYTES = 1 << 20
#: what a download holds when its report has gone or now leads outside the folder
REPORT_GONE = (b"<!doctype html><title>report unavailable</title><p>This report was removed, or now leads outside "
               b"the reports folder, since the page was opened. Reload the page for the current reports.</p>")


def file_inside(folder: Path, path: Path) -> Path | None:
    """``path`` with every link resolved when that is a regular file inside ``folder`` (resolved), else None."""
    try:
        path = path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, unreadable, or a loop of links
        return None
    return path if folder in path.parents and path.is_file() else None  # is_file: no FIFO or device to block on


def find_reports(folder: Path) -> list[dict]:
    """Newest first: name, time, the verdict lines and the HTML file of each report folder."""
    folder = folder.resolve()
    reports = []
    for candidate in folder.glob("*/summary.md"):
        summary = file_inside(folder, candidate)
        html = file_inside(folder, candidate.with_name("report.html"))
        if summary is None or html is None:
            continue
        with summary.open("rb") as file:
            text = file.read(SUMMARY_MAX_BYTES).decode("utf-8", errors="replace")
        verdicts = [line[2:] for line in text.split("## Verdict", 1)[-1].splitlines() if line.startswith("* ")]
        title = text.splitlines()[0].lstrip("# ") if text else candidate.parent.name
        reports.append({"name": candidate.parent.name, "title": title, "mtime": summary.stat().st_mtime, "verdicts": verdicts,
                        "html": candidate.with_name("report.html")})
    return sorted(reports, key=lambda r: r["mtime"], reverse=True)


def read_report(folder: Path, html: Path) -> io.BytesIO:
    """The report's HTML, resolved and checked again now; REPORT_GONE when it is no longer a file inside ``folder``."""
    folder = folder.resolve()
    path = file_inside(folder, html)
    if path is None:
        return io.BytesIO(REPORT_GONE)
    try:
        # No link followed at the end, no FIFO waited on; then where the open file really is (Linux names
        # it in /proc), in case a folder on the way was swapped for a link after the check.
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return io.BytesIO(REPORT_GONE)
    with os.fdopen(descriptor, "rb") as file:
        opened = Path(os.readlink(f"/proc/self/fd/{descriptor}")) if Path("/proc/self/fd").is_dir() else path
        if folder not in opened.parents or not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return io.BytesIO(REPORT_GONE)
        return io.BytesIO(file.read())


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
            download = pn.widgets.FileDownload(callback=lambda html=report["html"]: read_report(self.folder, html),
                                               filename=f"{report['name']}.html", label="report.html", width=140)
            cards.append(pn.Card(pn.pane.Markdown(f"{when}\n\n{lines}", sizing_mode="stretch_width"), download,
                                 title=as_html(report["title"]), collapsed=len(cards) > 0, sizing_mode="stretch_width"))
        heading = pn.pane.Markdown("### Comparison reports", sizing_mode="stretch_width")
        return pn.Column(pn.layout.Divider(), heading, *cards, visible=bool(cards), sizing_mode="stretch_width")
