"""The README's finder comparison zoomed in, taken at 1440 px in Debian's chromium (headless).

    vizcache generate --preset default            # data/default in the working directory
    .venv/bin/python docs/images/comparison_screenshot.py [WORKDIR]

serves the viewer with its built-in config from WORKDIR, opens the Finder comparison tab, zooms its map
to 2° around PZWAV's highest-SNR cluster (re-aggregated for the view, each pair or lone cluster a marker),
points at a matched pair (its tooltip names both clusters) and writes docs/images/comparison-zoomed.png.
"""

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
from tests.ports import free_port, wait_for_port  # noqa: E402
from tests.ui.test_comparison_map_browser import IMAGE, MARKERS, to_screen, zoom  # noqa: E402


def main() -> None:
    workdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    pzwav = pd.read_parquet(workdir / "data" / "default" / "pzwav.parquet")
    top = pzwav.loc[pzwav["SNR_CLUSTER"].idxmax()]
    ra, dec = float(top["RIGHT_ASCENSION_CLUSTER"]), float(top["DECLINATION_CLUSTER"])
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(REPO / "apps" / "viewer.py"), "--port", str(port),
                               "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}"],
                              cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.goto(f"http://127.0.0.1:{port}/viewer", timeout=300_000)
            page.locator(".vizcache-skymap .bk-Canvas").first.wait_for(timeout=300_000)
            page.locator(".bk-tab", has_text="Finder comparison").click()
            page.get_by_text("Completeness of PZWAV", exact=False).first.wait_for(timeout=300_000)
            while not page.evaluate(IMAGE):
                time.sleep(0.5)
            zoom(page, (ra - 1.0, ra + 1.0), (dec - 0.6, dec + 0.6))
            deadline = time.time() + 120
            markers = {}
            while time.time() < deadline and not markers.get("ra"):
                time.sleep(1)
                markers = page.evaluate(MARKERS) or {}
            pair = next(i for i, m in enumerate(markers["match"]) if m == "matched")
            page.mouse.move(*to_screen(page, markers["ra"][pair], markers["dec"][pair]))
            time.sleep(2)
            page.screenshot(path=str(HERE / "comparison-zoomed.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
