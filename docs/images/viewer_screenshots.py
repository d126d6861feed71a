"""The viewer's screenshots in the README, taken at 1440 px in Debian's chromium (headless).

    vizcache generate --preset default            # data/default in the working directory
    .venv/bin/python docs/images/viewer_screenshots.py [WORKDIR]

serves the viewer with its built-in config from WORKDIR (default: the working directory), visits
PZWAV, AMICO and BOTH (two loads become hits on the way back), and writes docs/images/viewer.png
(the window) and docs/images/viewer-monitor.png (the cache monitor card, below the map at this width).
"""

import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
from tests.ports import free_port, wait_for_port  # noqa: E402


def main() -> None:
    workdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(REPO / "apps" / "viewer.py"), "--port", str(port),
                               "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}"],
                              cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/viewer", timeout=300_000)
            page.locator(".vizcache-skymap .bk-Canvas").first.wait_for(timeout=300_000)
            time.sleep(3)
            for name in ("PZWAV", "AMICO", "BOTH", "PZWAV", "BOTH"):
                page.get_by_role("button", name=name, exact=True).click()
                time.sleep(3)
            page.mouse.move(5, 500)  # no button tooltip in the picture
            time.sleep(3)  # the monitor refreshes every second
            page.screenshot(path=str(HERE / "viewer.png"))
            page.set_viewport_size({"width": 1440, "height": 2800})  # the whole card in the window
            time.sleep(3)
            page.locator(".card:has-text('Cache monitor')").last.screenshot(path=str(HERE / "viewer-monitor.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
