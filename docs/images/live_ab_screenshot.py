"""The live A/B card's screenshot in the README and docs/live-ab.md, taken at 1440 px in Debian's chromium (headless).

    .venv/bin/python docs/images/live_ab_screenshot.py [WORKDIR]

generates the small preset into WORKDIR/data/small (default: a new temporary folder), serves the viewer
with `vizcache serve` and a config whose cache is the old getsizeof policy at an 8 MiB budget, switches
between PZWAV, AMICO and BOTH for three minutes (three one-minute windows, so the hit ratios get
intervals), waits for the card's decision, and writes docs/images/viewer-live-ab.png. It also saves
the server's /vizcache/metrics to docs/images/viewer-live-ab-metrics.txt.
"""

import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
from tests.ports import free_port, wait_for_port  # noqa: E402
from vizcache.catalogs.generate import generate  # noqa: E402

CONFIG = """
[policy]
name = "SizeEstimatedLRU"
estimator = "getsizeof"
budget = "8MiB"

[data]
folders = ["data"]

[catalogs.PZWAV]
files = "data/small/pzwav.parquet"

[catalogs.AMICO]
files = "data/small/amico.parquet"

[catalogs.BOTH]
files = "data/small/both.parquet"

[trace]
path = "traces/live.jsonl"

[viewer]
title = "vizcache viewer"
catalog = "BOTH"
reports = "reports"
"""
CLICKS = ("PZWAV", "AMICO", "PZWAV", "BOTH", "AMICO", "AMICO", "PZWAV", "BOTH", "PZWAV", "AMICO", "BOTH", "BOTH")


def main() -> None:
    workdir = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="vizcache-live-ab-"))
    if not (workdir / "data" / "small" / "both.parquet").exists():
        generate(workdir / "data" / "small", "small", seed=11)
    (workdir / "live.toml").write_text(CONFIG)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "vizcache.cli", "serve", "--config", str(workdir / "live.toml"), "--port", str(port)],
                              cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1440, "height": 2800})
            page.goto(f"http://127.0.0.1:{port}/viewer", timeout=300_000)
            page.locator(".vizcache-skymap .bk-Canvas").first.wait_for(timeout=300_000)
            for name in CLICKS:
                page.get_by_role("button", name=name, exact=True).click()
                time.sleep(180 / len(CLICKS))
            card = page.locator(".card:has-text('Live A/B')").last
            card.locator("text=Switch from").or_(card.locator("text=Keep ")).or_(card.locator("text=Leave ")).first.wait_for(timeout=600_000)
            page.mouse.move(5, 500)
            time.sleep(6)  # one more refresh: the line and the curve of the same moment
            card.screenshot(path=str(HERE / "viewer-live-ab.png"))
            browser.close()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/vizcache/metrics", timeout=60) as response:
            (HERE / "viewer-live-ab-metrics.txt").write_bytes(response.read())
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
