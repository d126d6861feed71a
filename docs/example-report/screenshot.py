"""Copy a compare report's summary, its results and a screenshot of its plots here (Debian chromium, headless).

    .venv/bin/python docs/example-report/screenshot.py REPORT_FOLDER NAME

writes docs/example-report/NAME.md (the report's summary.md), NAME.json (its results.json without each
run's per-request rows and per-entry accounting, which make it megabytes: what README's generated
section reads) and NAME.png (the plots of report.html).
"""

import json
import re
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright


def repository_relative(path: str) -> str:
    """``/any/checkout/policies/x.toml`` -> ``policies/x.toml``: the committed copy names no machine's folders."""
    return re.sub(r"^.*?/(?=(policies|benchmarks|data)/)", "", path) if path.startswith("/") else path


def main() -> None:
    report, name = Path(sys.argv[1]), sys.argv[2]
    here = Path(__file__).parent
    shutil.copyfile(report / "summary.md", here / f"{name}.md")
    results = json.loads((report / "results.json").read_text())
    for run in results["runs"]:
        run.pop("requests", None)
        run.pop("accounting", None)
    experiment = results["experiment"]
    experiment["file"] = repository_relative(experiment["file"])
    if experiment["workload"].get("trace"):
        experiment["workload"]["trace"] = repository_relative(experiment["workload"]["trace"])
    (here / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1250, "height": 900})
            page.goto((report / "report.html").resolve().as_uri())
            plots = page.locator(".bk-GridPlot, .bk-GridBox").first
            plots.wait_for(timeout=60_000)
            page.wait_for_timeout(3000)  # let Bokeh finish drawing
            plots.screenshot(path=str(here / f"{name}.png"))
        finally:
            browser.close()


if __name__ == "__main__":
    main()
