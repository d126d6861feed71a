"""The reports section lists and serves only files inside its folder, whatever links lead elsewhere."""

import base64
import os

import pytest

from vizcache.viewer.reports import REPORT_GONE, ReportList, find_reports

SUMMARY = "# vizcache compare: {name}\n\n## Verdict\n\n* hit ratio: best rss (0.9)\n"


def _report(folder, name, html="<html>report</html>"):
    (folder / name).mkdir(parents=True)
    (folder / name / "summary.md").write_text(SUMMARY.format(name=name))
    if html is not None:
        (folder / name / "report.html").write_text(html)
    return folder / name


def _downloads(shown) -> list:
    cards = [card for card in shown if hasattr(card, "title")]
    return [card[1] for card in cards]


def _download(widget) -> bytes:
    widget._clicks += 1  # what a click on the button sends
    return base64.b64decode(widget.data.split(",", 1)[1])


def test_a_report_html_linking_outside_the_folder_is_neither_listed_nor_served(tmp_path):
    reports = tmp_path / "reports"
    _report(reports, "good")
    (tmp_path / "secret.html").write_text("secret")
    (_report(reports, "passwd", html=None) / "report.html").symlink_to("/etc/passwd")
    (_report(reports, "outside", html=None) / "report.html").symlink_to(tmp_path / "secret.html")
    (_report(reports, "relative", html=None) / "report.html").symlink_to("../../secret.html")
    (_report(reports, "loop", html=None) / "report.html").symlink_to("report.html")
    (_report(reports, "inside", html=None) / "report.html").symlink_to(reports / "good" / "report.html")
    assert sorted(r["name"] for r in find_reports(reports)) == ["good", "inside"]
    shown = ReportList(folder=reports).__panel__()
    assert sorted(_download(d) for d in _downloads(shown)) == [b"<html>report</html>"] * 2


@pytest.mark.timeout(60)  # before the fix, reading the FIFO never returned
def test_a_summary_that_is_a_fifo_or_a_link_outside_is_skipped_without_waiting(tmp_path):
    reports = tmp_path / "reports"
    fifo = _report(reports, "fifo")
    (fifo / "summary.md").unlink()
    os.mkfifo(fifo / "summary.md")  # reading it would wait for a writer forever
    linked = _report(reports, "linked")
    (linked / "summary.md").unlink()
    (tmp_path / "outside.md").write_text(SUMMARY.format(name="outside"))
    (linked / "summary.md").symlink_to(tmp_path / "outside.md")
    assert find_reports(reports) == []


def test_a_report_swapped_for_a_link_after_the_page_was_built_is_refused_at_download(tmp_path):
    reports = tmp_path / "reports"
    report = _report(reports, "swapped")
    (download,) = _downloads(ReportList(folder=reports).__panel__())
    (report / "report.html").unlink()
    (report / "report.html").symlink_to("/etc/passwd")
    assert _download(download) == REPORT_GONE
    (report / "report.html").unlink()
    assert _download(download) == REPORT_GONE  # gone altogether: the same message, no traceback
