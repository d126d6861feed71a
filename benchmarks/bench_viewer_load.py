"""Many sessions on one viewer server: new-session time, map-visible time, switch and zoom latency, memory.

    .venv/bin/python benchmarks/bench_viewer_load.py [--sessions 1 5 10 20] [--browsers 2] [--switches 4]
                                                     [--preset small] [--limit 2GiB] [--num-procs 1]

Serves apps/viewer.py (`panel serve`, 127.0.0.1 only) on a generated preset whose catalogs are
loaded once before measuring (so every session shows a cached catalog). For each level N, N
sessions are open at once: ``--browsers`` of them are real Chromium pages (Debian's chromium via
playwright) that time the map's first drawing, catalog switches (click to changed pixels) and a
wheel zoom (to changed pixels); the rest are Bokeh websocket clients (``bokeh.client.pull_session``)
that make the server build and send a full page, then stay open, idle. Then all close; the server
expires them after a second. Server RSS is read (psutil) before, with all N open, and after.

Every wait is bounded (60 s a page, 30 s an interaction); failures are counted, not retried.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO)]
from bench_viewer_browser import ARGS as CHROMIUM_ARGS  # noqa: E402
from bench_viewer_browser import CLICK_TO_PIXELS, free_port  # noqa: E402
from _viewer_config import viewer_config  # noqa: E402

MiB = 2**20

# The map canvas drawn: its pixels are not all one colour.
MAP_DRAWN = """
(box) => {
  const canvas = box.shadowRoot && box.shadowRoot.querySelector('canvas');
  if (!canvas || canvas.width < 300) return false;
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 4; i < d.length; i += 4 * 97) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return true;
  return false;
}
"""
WHEEL_TO_PIXELS = CLICK_TO_PIXELS.replace("button.click();", "canvasBox.dispatchEvent(new WheelEvent('wheel', {deltaY: -400, clientX: "
                                          "canvasBox.getBoundingClientRect().x + 300, clientY: canvasBox.getBoundingClientRect().y + 200, "
                                          "bubbles: true, composed: true}));")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def server_rss(pid: int) -> int:
    process = psutil.Process(pid)
    return process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))


def register_models() -> None:
    """The client decodes the page's Panel and HoloViews Bokeh models: import every one of them."""
    import importlib
    import pkgutil

    import holoviews.plotting.bokeh  # noqa: F401
    import panel.models

    for module in pkgutil.iter_modules(panel.models.__path__):
        try:
            importlib.import_module(f"panel.models.{module.name}")
        except ImportError:  # optional extras (e.g. vtk) the page does not use
            pass


def open_client_session(url: str, results: dict, hold: threading.Event) -> None:
    """A Bokeh websocket client: the server builds and sends a whole page; the session stays open until ``hold`` is set."""
    from bokeh.client import pull_session

    start = time.perf_counter()
    try:
        session = pull_session(url=url)
    except Exception as exc:  # counted, the run goes on
        results["errors"].append(f"client: {exc}")
        return
    results["new_session"].append(time.perf_counter() - start)
    hold.wait(timeout=600)
    session.close()


def browse(page, url: str, switches: int, results: dict) -> None:
    """A real page: map drawn, then catalog switches and one wheel zoom, each timed to changed pixels."""
    start = time.perf_counter()
    page.goto(url, timeout=60_000)
    canvas = page.locator(".vizcache-skymap .bk-Canvas").first
    canvas.wait_for(timeout=60_000)
    page.wait_for_function(MAP_DRAWN, arg=canvas.element_handle(), timeout=60_000, polling=50)
    results["map_visible"].append(time.perf_counter() - start)
    time.sleep(2)  # the rest of the page (histograms, table, monitor) settles before the timed interactions
    names = ["PZWAV", "AMICO", "BOTH"]
    for i in range(switches):
        button = page.get_by_role("button", name=names[i % 3], exact=True)
        results["switch"].append(page.evaluate(CLICK_TO_PIXELS, [canvas.element_handle(), button.element_handle()]) / 1e3)
        time.sleep(0.3)
    results["zoom"].append(page.evaluate(WHEEL_TO_PIXELS, [canvas.element_handle(), None]) / 1e3)


def run_level(url: str, pid: int, n: int, browsers: int, switches: int, browser) -> dict:
    results = {"new_session": [], "map_visible": [], "switch": [], "zoom": [], "errors": []}
    before = server_rss(pid)
    hold = threading.Event()
    clients = [threading.Thread(target=open_client_session, args=(url, results, hold)) for _ in range(n - min(n, browsers))]
    for thread in clients:
        thread.start()
    contexts = []
    for _ in range(min(n, browsers)):
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        contexts.append(context)
        try:
            browse(context.new_page(), url, switches, results)
        except Exception as exc:
            results["errors"].append(f"browser: {exc}")
    deadline = time.time() + 180
    while len(results["new_session"]) + len(results["errors"]) < len(clients) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    results["rss_before"], results["rss_open"] = before, server_rss(pid)
    hold.set()
    for context in contexts:
        context.close()
    for thread in clients:
        thread.join(timeout=60)
    time.sleep(6)  # the server drops unused sessions after 1 s, checking every 0.5 s
    results["rss_after"] = server_rss(pid)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--browsers", type=int, default=2, help="real chromium pages per level (the rest are websocket clients)")
    parser.add_argument("--switches", type=int, default=4)
    parser.add_argument("--preset", default="small", choices=["small", "default"])
    parser.add_argument("--limit", default="2GiB", help="RSSThresholdLRU limit of the server's cache")
    parser.add_argument("--num-procs", type=int, default=1)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from vizcache.catalogs.generate import generate

    register_models()
    root = Path(tempfile.mkdtemp(prefix="vizcache-load-"))
    generate(root / "data", args.preset, seed=3)
    (root / "viewer.toml").write_text(viewer_config(args.limit))
    port = free_port()
    url = f"http://127.0.0.1:{port}/viewer"
    log = (root / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(REPO / "apps" / "viewer.py"), "--port", str(port),
                               "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}", "--num-procs", str(args.num_procs),
                               "--check-unused-sessions", "500", "--unused-session-lifetime", "1000",
                               "--args", "--config", str(root / "viewer.toml")], cwd=root, stdout=log, stderr=subprocess.STDOUT)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            from tests.ports import wait_for_port

            wait_for_port(port)
            for _ in range(3):  # every catalog cached, the code paths hot
                warm = run_level(url, server.pid, 1, 1, 3, browser)
                if not warm["errors"]:
                    break
                print(f"warm-up: {warm['errors']}", flush=True)
            print(f"server {args.num_procs} process(es), preset {args.preset}, cache limit {args.limit}; "
                  f"RSS after warm-up {server_rss(server.pid) / MiB:,.0f} MiB\n")
            print("| sessions | new session (websocket) p50 / p95 s | map drawn in chromium p50 s | switch p50 / p95 ms | zoom p50 ms "
                  "| server RSS before / all open / after MiB | per open session MiB | errors |")
            print("|---|---|---|---|---|---|---|---|")
            for n in args.sessions:
                r = run_level(url, server.pid, n, args.browsers, args.switches, browser)
                ns, mv, sw, zm = r["new_session"], r["map_visible"], r["switch"], r["zoom"]
                print(f"| {n} | {percentile(ns, .5):.2f} / {percentile(ns, .95):.2f} | {percentile(mv, .5):.2f} | "
                      f"{percentile(sw, .5) * 1e3:.0f} / {percentile(sw, .95) * 1e3:.0f} | {percentile(zm, .5) * 1e3:.0f} | "
                      f"{r['rss_before'] / MiB:,.0f} / {r['rss_open'] / MiB:,.0f} / {r['rss_after'] / MiB:,.0f} | "
                      f"{(r['rss_open'] - r['rss_before']) / n / MiB:.1f} | {len(r['errors'])} |", flush=True)
                for error in r["errors"][:3]:
                    print(f"    {error[:200]}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    main()
