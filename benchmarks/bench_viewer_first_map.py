"""A lone new session's map in Chromium: from navigation start to the first frame with map pixels.

    nice -n -15 .venv/bin/python benchmarks/bench_viewer_first_map.py [--pages 12] [--before DIR]

Serves apps/viewer.py (small preset, every catalog cached by a warm-up page) and opens pages one
at a time, each in a fresh browser context (an empty HTTP cache, as a colleague's first visit).
The page itself times its phases with ``performance.now()`` (milliseconds since navigation
start): the server's HTML response, DOMContentLoaded (every script loaded and run), the first
document over the websocket, and the first animation frame whose map canvas is not one colour.
The browser's own clock, not the driver's round trips: what a user sees.

``--before DIR`` serves a second tree (e.g. ``git worktree add DIR <rev>``) beside this one and
alternates pages between the two, so both are measured under the same machine load.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO)]
from _viewer_config import viewer_config  # noqa: E402
from bench_viewer_browser import ARGS as CHROMIUM_ARGS  # noqa: E402
from bench_viewer_browser import free_port  # noqa: E402
from tests.ports import wait_for_port  # noqa: E402
from vizcache.catalogs.generate import generate  # noqa: E402

# Runs in the page before its own scripts: marks the first document message and the first frame
# with map pixels (the canvas under .vizcache-skymap, looked up through the shadow roots).
PHASE_MARKS = """
(() => {
  const Socket = window.WebSocket;
  window.WebSocket = function (...args) {
    const socket = new Socket(...args);
    socket.addEventListener('message', (event) => {
      if (!performance.getEntriesByName('document').length && typeof event.data === 'string' && event.data.length > 10000)
        performance.mark('document');
    });
    return socket;
  };
  window.WebSocket.prototype = Socket.prototype;
  const within = (root, test) => {
    for (const el of root.querySelectorAll('*')) {
      if (test(el)) return el;
      if (el.shadowRoot) { const found = within(el.shadowRoot, test); if (found) return found; }
    }
    return null;
  };
  const mapCanvas = () => {
    const map = within(document, (el) => el.classList.contains('vizcache-skymap'));
    const box = map && within(map.shadowRoot || map, (el) => el.classList.contains('bk-Canvas') && el.shadowRoot);
    const canvas = box && box.shadowRoot.querySelector('canvas');
    return canvas && canvas.width >= 300 ? canvas : null;
  };
  const poll = () => {
    const canvas = mapCanvas();
    if (canvas) {
      const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 4; i < d.length; i += 4 * 97)
        if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) { performance.mark('map'); return; }
    }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})();
"""
PHASES = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const mark = (name) => { const m = performance.getEntriesByName(name)[0]; return m ? m.startTime : null; };
  return {response: nav.responseEnd, scripts: nav.domContentLoadedEventEnd, document: mark('document'), map: mark('map')};
}"""


def serve(tree: Path, config: Path, port: int) -> subprocess.Popen:
    # Sessions closed by the driver end after 0.5 s: each page meets a server with no one else on it.
    return subprocess.Popen([sys.executable, "-m", "panel", "serve", str(tree / "apps" / "viewer.py"), "--port", str(port), "--address",
                             "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}", "--unused-session-lifetime", "500",
                             "--check-unused-sessions", "500", "--args", "--config", str(config)],
                            cwd=config.parent, env=os.environ | {"PYTHONPATH": str(tree)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def open_page(browser, url: str) -> dict:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        context.add_init_script(PHASE_MARKS)
        page = context.new_page()
        page.goto(url, timeout=120_000)
        page.wait_for_function("performance.getEntriesByName('map').length > 0", timeout=120_000, polling=100)
        return {phase: (ms / 1e3 if ms is not None else float("nan")) for phase, ms in page.evaluate(PHASES).items()}
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=12, help="measured pages per tree (after one warm-up page each)")
    parser.add_argument("--before", type=Path, default=None, help="another checkout to measure beside this one, page for page")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between pages (the last session ends meanwhile)")
    args = parser.parse_args()
    trees = {"this tree": REPO} | ({"before": args.before.resolve()} if args.before else {})
    root = Path(tempfile.mkdtemp(prefix="vizcache-first-map-"))
    generate(root / "data", "small", seed=3)
    config = root / "viewer.toml"
    config.write_text(viewer_config("2GiB"))
    ports = {name: free_port() for name in trees}
    servers = {name: serve(tree, config, ports[name]) for name, tree in trees.items()}
    results = {name: [] for name in trees}
    try:
        for port in ports.values():
            wait_for_port(port)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            for i in range(args.pages + 1):
                for name in (trees if i % 2 else reversed(list(trees))):  # alternate which tree goes first
                    phases = open_page(browser, f"http://127.0.0.1:{ports[name]}/viewer")
                    if i:  # the first page per tree loads the catalog and compiles: not a new session on a cached catalog
                        results[name].append(phases)
                        print(f"{name:9s} page {i:2d}: " + "  ".join(f"{k} {v:.3f}" for k, v in phases.items()), flush=True)
                    time.sleep(args.pause)
            browser.close()
    finally:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nmedians of {args.pages} fresh pages, seconds since navigation start (load average {os.getloadavg()[0]:.1f}):")
    for name, pages in results.items():
        print(f"  {name:9s} " + "  ".join(f"{phase} {statistics.median(p[phase] for p in pages):.3f}" for phase in pages[0])
              + f"   map range {min(p['map'] for p in pages):.3f}-{max(p['map'] for p in pages):.3f}")


if __name__ == "__main__":
    main()
