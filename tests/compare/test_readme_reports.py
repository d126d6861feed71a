"""README's "What the A/B shows" against the committed reports it links (docs/example-report/*.md).

Every number in the section's three-arm and eviction-order tables must be the report's figure at
the precision README prints it, every interval README prints must be the report's, and "never" over
the limit must be an interval of [0, 0] in the report.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "docs" / "example-report"
NUMBER = r"-?\d+(?:\.\d+)?"
#: README prints "0.81 [0.81–0.85]"; a report prints "0.812 [0.812, 0.85]"
README_FIGURE = re.compile(rf"\**({NUMBER})\**(?: \[({NUMBER})–({NUMBER})\])?")


def section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("### What the A/B shows", 1)[1].split("\n## ", 1)[0]


def table(text: str, first_header: str) -> dict[str, list[str]]:
    """The Markdown table whose header starts with ``first_header``: first cell -> the other cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        rows[cells[0]] = cells[1:]
    return rows


def results(report: str) -> dict[str, dict[str, tuple]]:
    """A report's results table: metric label -> policy -> (median, ci or None)."""
    text = (REPORTS / report).read_text(encoding="utf-8")
    part = text.split("## Results at the", 1)[1]
    header = next(line for line in part.splitlines() if line.startswith("| metric |"))
    policies = [c.strip() for c in header.split("|")[2:-1]]
    out = {}
    for label, cells in table(part, "metric").items():
        values = {}
        for policy, cell in zip(policies, cells):
            m = re.fullmatch(rf"({NUMBER}(?:e[+-]\d+)?)(?: \[({NUMBER}(?:e[+-]\d+)?), ({NUMBER}(?:e[+-]\d+)?)\])?", cell)
            values[policy] = None if m is None else (float(m[1]), (float(m[2]), float(m[3])) if m[2] else None)
        out[label] = values
    return out


def sweep(report: str) -> list[dict[str, float]]:
    """A report's budget sweep: per budget, policy -> median hit ratio."""
    text = (REPORTS / report).read_text(encoding="utf-8")
    part = text.split("## Budget sweep", 1)[1]
    header = next(line for line in part.splitlines() if line.startswith("| budget MiB |"))
    policies = [c.strip() for c in header.split("|")[2:-1]]
    return [{p: float(c.split(" / ")[0]) for p, c in zip(policies, cells)} for cells in table(part, "budget MiB").values()]


def agrees(printed: str, value: float) -> bool:
    """``printed`` is ``value`` rounded to the decimals README shows."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(float(printed) - value) <= 0.5 * 10**-decimals + 1e-9


def check_figure(cell: str, figure: tuple, where: str) -> None:
    m = README_FIGURE.fullmatch(cell.strip())
    assert m, f"{where}: cannot read {cell!r}"
    median, ci = figure
    assert agrees(m[1], median), f"{where}: README {m[1]}, report {median}"
    if m[2]:
        assert ci is not None, f"{where}: README gives an interval the report does not"
        assert agrees(m[2], ci[0]) and agrees(m[3], ci[1]), f"{where}: README [{m[2]}–{m[3]}], report {ci}"


THREE_ARMS = {"stationary": "three-arms-stationary.md", "hot set moves halfway": "three-arms-shift.md"}
ARMS = ("getsizeof", "legacy-rss", "rss-lru")


@pytest.mark.parametrize("workload", THREE_ARMS)
def test_three_arms_table_matches_its_report(workload):
    cells = table(section(), "workload")[workload]
    report = results(THREE_ARMS[workload])
    columns = ("hit ratio", "policy overhead per request p95 (ms)", "dropping evicted or rejected values per request p95 (ms)")
    for metric, cell in zip(columns, cells):
        for arm, part in zip(ARMS, cell.split(" / ")):
            check_figure(part, report[metric][arm], f"{workload}, {metric}, {arm}")
    share, excess = report["share of requests after which RSS stayed over the limit"], report["largest excess over the limit after a request (MiB)"]
    for claim in cells[3].split("; "):
        if claim.endswith(" never"):
            for arm in claim.removesuffix(" never").split(" and "):
                assert share[arm] == (0.0, (0.0, 0.0)) and excess[arm] == (0.0, (0.0, 0.0)), f"{workload}: {arm} is not 'never' over"
            continue
        arm = claim.split()[0]
        if m := re.search(rf"after ({NUMBER}) % .*by up to ({NUMBER}) MiB", claim):
            assert agrees(m[1], 100 * share[arm][0]) and agrees(m[2], excess[arm][0]), f"{workload}: {claim}"
        else:
            m = re.search(rf"in some repetitions \(share of requests \[({NUMBER})–({NUMBER})\]", claim)
            assert m and share[arm][0] == 0 and share[arm][1][1] > 0, f"{workload}: {claim}"
            assert agrees(m[1], share[arm][1][0]) and agrees(m[2], share[arm][1][1]), f"{workload}: {claim}"


ORDERS = {"zipf over 164 catalogs": "orders-zipf.md", "recorded pan/zoom, 3,211 requests over 286 partitions": "hats-trace.md",
          "recorded viewer zipf, 1,000 switches over 47 catalogs, budget 25 %": "orders-recorded-zipf.md"}
ORDER_ARMS = ("rss-lru", "rss-s3fifo", "getsizeof", "legacy-rss")


def test_eviction_orders_table_matches_its_reports():
    text = section()
    orders = table(text[text.index("| workload | hit ratio: lru"):], "workload")  # the section's second "workload" table
    for workload, report in ORDERS.items():
        hit = results(report)["hit ratio"]
        for arm, cell in zip(ORDER_ARMS, orders[workload]):
            if cell != "–":
                check_figure(cell, hit[arm], f"{workload}, {arm}")
    half = sweep("orders-recorded-zipf.md")[1]
    for arm, cell in zip(ORDER_ARMS, orders["the same, budget 50 % (medians: the report's budget sweep)"]):
        if cell != "–":
            check_figure(cell, (half[arm], None), f"budget 50 %, {arm}")


def test_the_stationary_paragraph_quotes_its_report():
    text = " ".join(section().split())
    report = results("three-arms-stationary.md")
    hit, p95 = report["hit ratio"], report["switch latency p95 (ms)"]
    assert f"{hit['rss-lru'][0]:.3f} against {hit['legacy-rss'][0]:.3f}, intervals apart" in text
    assert hit["rss-lru"][1][0] > hit["legacy-rss"][1][1]
    gap = hit["rss-lru"][0] - hit["legacy-rss"][0]
    assert f"the gap ({gap:.3f}, {gap / hit['rss-lru'][0]:.0%}".replace("%", " %") in text and gap / hit["rss-lru"][0] < 0.10
    assert f"switch p95 ({p95['rss-lru'][0]:.0f} ms [{p95['rss-lru'][1][0]:.0f}, {p95['rss-lru'][1][1]:.0f}])" in text
    assert f"({p95['legacy-rss'][0]:.0f} ms [{p95['legacy-rss'][1][0]:.0f}, {p95['legacy-rss'][1][1]:.0f}])" in text
    decision = (REPORTS / "three-arms-stationary.md").read_text(encoding="utf-8").split("**", 2)[1]
    assert decision.startswith("Switch from getsizeof to legacy-rss") and "recommends legacy-rss" in text
    for metric in ("hit ratio", "switch latency p95 (ms)", "policy overhead and dropping values per request p95 (ms)"):
        better = (lambda a, b: a > b) if metric == "hit ratio" else (lambda a, b: a < b)
        assert better(report[metric]["rss-lru"][0], report[metric]["legacy-rss"][0]), metric
