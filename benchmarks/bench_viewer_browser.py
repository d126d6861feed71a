"""Click-to-pixels latency of a catalog switch in a real browser, and the docs' screenshots.

    .venv/bin/python benchmarks/bench_viewer_browser.py [--switches 12] [--screenshots docs/images]

Serves apps/viewer.py on the default data set (generated on first use), opens it in Debian's
chromium, visits every catalog once (so all are cached), then times switches inside the page:
from the button's click() to the first animation frame whose map canvas pixels differ.
"""

import argparse
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
CLICK_TO_PIXELS = """
([canvasBox, button]) => new Promise((resolve, reject) => {
  const canvas = canvasBox.shadowRoot.querySelector('canvas');
  const ctx = canvas.getContext('2d');
  const signature = () => {
    const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let h = 0;
    for (let i = 0; i < d.length; i += 61) h = (h * 31 + d[i]) | 0;
    return h;
  };
  const before = signature();
  const start = performance.now();
  const poll = () => {
    if (signature() !== before) return resolve(performance.now() - start);
    if (performance.now() - start > 30000) return reject('no change');
    requestAnimationFrame(poll);
  };
  button.click();
  requestAnimationFrame(poll);
})
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--switches", type=int, default=12)
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for viewer screenshots (docs/images)")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(REPO / "apps" / "viewer.py"), "--port", str(port),
                               "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}"],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            for _ in range(100):
                try:
                    page.goto(f"http://127.0.0.1:{port}/viewer")
                    break
                except Exception:
                    time.sleep(0.5)
            page.get_by_text("Cache monitor").wait_for(timeout=300_000)  # includes first-start generation
            canvas = page.locator(".vizcache-skymap .bk-Canvas").first
            canvas.wait_for()
            time.sleep(3)
            names = ["PZWAV", "AMICO", "BOTH"]
            button = {n: page.get_by_role("button", name=n, exact=True) for n in names + ["MEMBERS"]}
            for name in names:  # first visits: loads, not measured
                button[name].click()
                time.sleep(2)
            samples = []
            for i in range(args.switches):  # BOTH is shown now: cycle PZWAV, AMICO, BOTH
                target = names[i % len(names)]
                samples.append(page.evaluate(CLICK_TO_PIXELS, [canvas.element_handle(), button[target].element_handle()]))
                time.sleep(0.5)
            print(f"| cached cluster catalogs (~150-190K points), {len(samples)} switches | median {statistics.median(samples):.0f} ms | "
                  f"min {min(samples):.0f} ms | max {max(samples):.0f} ms |")
            if args.screenshots:
                args.screenshots.mkdir(parents=True, exist_ok=True)  # viewer.png: docs/images/viewer_screenshots.py
                button["MEMBERS"].click()
                page.mouse.move(5, 900)  # no button tooltip in the picture
                time.sleep(8)
                page.screenshot(path=str(args.screenshots / "viewer-members.png"), full_page=True)
                page.get_by_role("button", name="all-sky", exact=True).click()
                page.mouse.move(5, 900)
                time.sleep(5)
                page.screenshot(path=str(args.screenshots / "viewer-allsky.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
