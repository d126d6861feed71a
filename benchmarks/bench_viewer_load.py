"""Many sessions on one viewer server, each switching catalogs and zooming: latency, memory, errors.

    .venv/bin/python benchmarks/bench_viewer_load.py [--sessions 1 5 10 20] [--switches 3] [--zooms 2] [--browsers 1]
                                                     [--preset small] [--limit 2GiB] [--num-procs 1]

Serves apps/viewer.py (`panel serve`, 127.0.0.1 only) on a generated preset whose catalogs are
loaded once before measuring (so every switch is a cache hit). For each level N, N sessions are
open at once. ``--browsers`` of them are real Chromium pages (Debian's chromium via playwright)
that time the map's first drawing, catalog switches and a wheel zoom (to changed pixels); the
rest are Bokeh websocket clients (``bokeh.client.pull_session``): the server builds and sends each
a whole page, then, once all are open, every client switches catalogs (sets the catalog buttons'
``active`` as a click does) and zooms (sets the map's ranges and sends the RangesUpdate event a
wheel zoom sends), each timed until the server pushes the map's new image. Then all close; the
server (``--unused-session-lifetime 1000``) destroys them, which its log confirms per server process
(the viewer's INFO line "session ended in server process PID": no session id goes to the network), and
RSS is read again. Server RSS (psutil, the process and its forked children) is sampled every 0.25 s
throughout: before, peak, with all open, after. Sessions are opened over ``--open-over`` seconds.

With ``--num-procs N`` the server forks N processes sharing the port. It runs in its own process group;
at the end (also after an error or Ctrl-C) every process of the group is terminated, then killed, and
the run says how many were left (0, or it names them).

Every wait is bounded (60 s a page, 30 s an interaction, 60 s for the sessions to end); a client's
first failed interaction ends its interactions, and failures are counted, not retried.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO)]
from _viewer_config import viewer_config  # noqa: E402
from bench_viewer_browser import ARGS as CHROMIUM_ARGS  # noqa: E402
from bench_viewer_browser import CLICK_TO_PIXELS, free_port  # noqa: E402

MiB = 2**20
CATALOGS = ["PZWAV", "AMICO", "BOTH"]  # the benchmark config's catalogs, in the buttons' order

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
# The wheel goes where a real one would: to the element under the pointer inside the canvas's shadow
# root (BokehJS listens on its events layer there; an event dispatched on the host never reaches it).
WHEEL_TO_PIXELS = CLICK_TO_PIXELS.replace("button.click();", "const box = canvasBox.getBoundingClientRect(); "
                                          "canvasBox.shadowRoot.elementFromPoint(box.x + 300, box.y + 200).dispatchEvent(new WheelEvent('wheel', "
                                          "{deltaY: -400, clientX: box.x + 300, clientY: box.y + 200, "
                                          "bubbles: true, composed: true, cancelable: true}));")


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


class DrivenClient:
    """A Bokeh websocket client that drives the page's models as a user's clicks and zooms would."""

    def __init__(self, url: str, catalogs: list[str]) -> None:
        from bokeh.client import pull_session

        self.session = pull_session(url=url)
        doc = self.session.document
        try:
            self.buttons = next(m for m in doc.models if m.__view_model__ == "RadioButtonGroup" and list(m.labels) == catalogs)
            # the sky map: the figure whose x range runs backwards (RA grows to the left)
            self.figure = next(m for m in doc.models if m.__view_model__ == "Figure" and m.x_range.start > m.x_range.end)
        except StopIteration:
            self.session.close()
            raise LookupError("no catalog buttons or sky map in the page") from None
        # What BokehJS sends once the page is shown: Panel runs the page's onload callbacks and
        # releases the plot updates it holds until the session is connected.
        from bokeh.events import DocumentReady

        doc.callbacks.send_event(DocumentReady())
        self._run_loop(0.05)  # out now, as BokehJS sends it once the page is shown, not with the first interaction
        self.images = {r.data_source for r in self.figure.renderers if getattr(getattr(r, "glyph", None), "__view_model__", "") == "Image"}
        self.image_changed = False
        doc.on_change(self._changed)

    def _changed(self, event) -> None:
        if getattr(event, "model", None) in self.images:
            self.image_changed = True

    def _until_new_image(self, act, timeout: float) -> float:
        """Seconds from ``act()`` until the server pushes a new map image; TimeoutError after ``timeout``."""
        connection = self.session._connection  # noqa: SLF001  the client's own loop, run until the image arrives
        self.image_changed = False
        start = time.perf_counter()
        act()
        timer = connection.io_loop.call_later(timeout, connection.io_loop.stop)
        connection._loop_until(lambda: self.image_changed)  # noqa: SLF001
        connection.io_loop.remove_timeout(timer)
        if not self.image_changed:
            raise TimeoutError(f"no new map image within {timeout:.0f} s")
        return time.perf_counter() - start

    def switch(self, index: int, timeout: float = 30.0) -> float:
        def click() -> None:
            self.buttons.active = index

        return self._until_new_image(click, timeout)

    def zoom(self, factor: float = 0.5, timeout: float = 30.0) -> float:
        from bokeh.events import RangesUpdate

        x, y = self.figure.x_range, self.figure.y_range
        cx, cy, hx, hy = (x.start + x.end) / 2, (y.start + y.end) / 2, (x.end - x.start) * factor / 2, (y.end - y.start) * factor / 2

        def wheel() -> None:
            x.update(start=cx - hx, end=cx + hx)
            y.update(start=cy - hy, end=cy + hy)
            box = dict(x0=cx - hx, x1=cx + hx, y0=cy - hy, y1=cy + hy)
            event = RangesUpdate(self.figure, **box)
            event.event_values = lambda: {"model": self.figure, **box}  # Bokeh's Python side serialises only the model
            self.session.document.callbacks.send_event(event)

        return self._until_new_image(wheel, timeout)

    def _run_loop(self, seconds: float) -> None:
        """Run the client's loop for ``seconds``: what it queued goes out (nothing is read meanwhile)."""
        import asyncio

        self.session._connection.io_loop.run_sync(lambda: asyncio.sleep(seconds))  # noqa: SLF001

    def close(self) -> None:
        self.session.close()
        try:
            self._run_loop(0.2)  # the close frame goes out
        except RuntimeError:  # the loop stopped as the connection closed: the frame went out
            pass


def drive_client(url: str, plan: dict, results: dict, all_open: threading.Barrier, hold: threading.Event, delay: float = 0.0) -> None:
    """After ``delay`` s open a session, wait for the others, switch catalogs and zoom as ``plan`` says, stay open until ``hold``."""
    time.sleep(delay)
    start = time.perf_counter()
    try:
        client = DrivenClient(url, plan["catalogs"])
    except Exception as exc:  # counted, the run goes on
        results["errors"].append(f"client open: {exc!r}"[:300])
        all_open.abort()
        return
    results["new_session"].append(time.perf_counter() - start)
    try:
        all_open.wait(timeout=180)
        active = client.buttons.active
        for _ in range(plan["switches"]):
            active = (active + 1) % len(plan["catalogs"])
            results["switch"].append(client.switch(active))
        for _ in range(plan["zooms"]):
            results["zoom"].append(client.zoom())
    except Exception as exc:
        results["errors"].append(f"client interaction: {exc!r}"[:300])
    finally:
        results["done"].append(1)
    hold.wait(timeout=600)
    client.close()


#: the viewer's line for each session a server process destroys (vizcache/viewer/app.py)
SESSION_ENDED = re.compile(r"session ended in server process (\d+)$", re.MULTILINE)


def sessions_ended_by_process(server_log: Path) -> Counter:
    """{server process id: sessions it has destroyed so far}, from the log: a session list served over
    HTTP (--rest-session-info) would publish live session ids, with which a client can drive another's page."""
    return Counter(int(pid) for pid in SESSION_ENDED.findall(server_log.read_text(errors="replace")))


def stop_server(server: subprocess.Popen) -> list[str]:
    """Terminate the server's whole process group (the forked children too), kill what stays; what is left."""
    import signal

    try:
        group = os.getpgid(server.pid)
    except ProcessLookupError:
        group = server.pid
    members = lambda: [p for p in psutil.process_iter(["pid", "cmdline"]) if _in_group(p, group)]  # noqa: E731
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            break
        deadline = time.time() + 15
        while members() and time.time() < deadline:
            time.sleep(0.2)
        if server.poll() is None:
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
    return [f"{p.pid} {' '.join(p.info['cmdline'] or [])[:120]}" for p in members()]


def _in_group(process: psutil.Process, group: int) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE and os.getpgid(process.pid) == group
    except (ProcessLookupError, psutil.Error):
        return False


class RSSSampler:
    """The server's RSS every ``every`` seconds in a thread: the peak since the last reset."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.pid, self.every, self.peak, self._stop = pid, every, 0, threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.peak = max(self.peak, server_rss(self.pid))
            except psutil.Error:
                return

    def reset(self) -> int:
        self.peak = server_rss(self.pid)
        return self.peak

    def stop(self) -> None:
        self._stop.set()


def browse(page, url: str, switches: int, results: dict) -> None:
    """A real page: map drawn, then catalog switches and one wheel zoom, each timed to changed pixels."""
    start = time.perf_counter()
    page.goto(url, timeout=60_000)
    canvas = page.locator(".vizcache-skymap .bk-Canvas").first
    canvas.wait_for(timeout=60_000)
    page.wait_for_function(MAP_DRAWN, arg=canvas.element_handle(), timeout=60_000, polling=50)
    results["map_visible"].append(time.perf_counter() - start)
    time.sleep(2)  # the rest of the page (histograms, table, monitor) settles before the timed interactions
    for i in range(switches):
        button = page.get_by_role("button", name=CATALOGS[i % len(CATALOGS)], exact=True)
        results["browser_switch"].append(page.evaluate(CLICK_TO_PIXELS, [canvas.element_handle(), button.element_handle()]) / 1e3)
        time.sleep(0.3)
    results["browser_zoom"].append(page.evaluate(WHEEL_TO_PIXELS, [canvas.element_handle(), None]) / 1e3)


def run_level(url: str, server_log: Path, pid: int, n: int, args, browser, sampler: RSSSampler) -> dict:
    results = {"new_session": [], "map_visible": [], "switch": [], "zoom": [], "errors": [], "done": [], "browser_switch": [],
               "browser_zoom": []}
    ended_before = sessions_ended_by_process(server_log)
    before = sampler.reset()
    hold = threading.Event()
    n_clients = n - min(n, args.browsers)
    all_open = threading.Barrier(max(1, n_clients))
    plan = {"catalogs": CATALOGS, "switches": args.switches, "zooms": args.zooms}
    spacing = args.open_over / max(1, n_clients - 1) if n_clients > 1 else 0.0
    clients = [threading.Thread(target=drive_client, args=(url, plan, results, all_open, hold, i * spacing)) for i in range(n_clients)]
    for thread in clients:
        thread.start()
    contexts = []
    for _ in range(min(n, args.browsers)):
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        contexts.append(context)
        try:
            browse(context.new_page(), url, args.switches, results)
        except Exception as exc:
            results["errors"].append(f"browser: {exc!r}"[:300])
    deadline = time.time() + args.open_over + 60 + 30 * (args.switches + args.zooms) + 3 * n
    while len(results["done"]) < n_clients and time.time() < deadline and any(t.is_alive() for t in clients):
        time.sleep(0.2)
    time.sleep(1.0)
    results["rss_before"], results["rss_open"], results["rss_peak"] = before, server_rss(pid), sampler.peak
    hold.set()
    for context in contexts:
        context.close()
    for thread in clients:
        thread.join(timeout=60)
    deadline = time.time() + 60  # the server drops unused sessions after 1 s, checking every 0.5 s
    while sum((sessions_ended_by_process(server_log) - ended_before).values()) < n and time.time() < deadline:
        time.sleep(0.5)
    time.sleep(2.0)  # the last destroy callbacks (gc + malloc_trim) finish
    results["ended_by_process"] = sessions_ended_by_process(server_log) - ended_before
    results["ended"], results["rss_after"] = sum(results["ended_by_process"].values()), server_rss(pid)
    return results


def ms(values: list[float], q: float) -> str:
    return "–" if not values else f"{percentile(values, q) * 1e3:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--browsers", type=int, default=1, help="real chromium pages per level (the rest are websocket clients)")
    parser.add_argument("--switches", type=int, default=3, help="catalog switches per session")
    parser.add_argument("--zooms", type=int, default=2, help="zooms (x2 each) per websocket session")
    parser.add_argument("--preset", default="small", choices=["small", "default"])
    parser.add_argument("--limit", default="2GiB", help="RSSThresholdLRU limit of the server's cache")
    parser.add_argument("--num-procs", type=int, default=1)
    parser.add_argument("--open-over", type=float, default=10.0, help="seconds over which a level's sessions are opened")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from vizcache.catalogs.generate import generate
    from vizcache.units import parse_bytes

    register_models()
    root = Path(tempfile.mkdtemp(prefix="vizcache-load-"))
    generate(root / "data", args.preset, seed=3)
    (root / "viewer.toml").write_text(viewer_config(args.limit))
    port = free_port()
    url = f"http://127.0.0.1:{port}/viewer"
    server_log = root / "server.log"
    log = server_log.open("w")
    server = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(REPO / "apps" / "viewer.py"), "--port", str(port),
                               "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}", "--num-procs", str(args.num_procs),
                               "--check-unused-sessions", "500", "--unused-session-lifetime", "1000",
                               "--args", "--config", str(root / "viewer.toml")], cwd=root, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)  # its own process group: stop_server ends the forked children too
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            from tests.ports import wait_for_port

            wait_for_port(port)
            sampler = RSSSampler(server.pid)
            warm_args = argparse.Namespace(**{**vars(args), "browsers": 1, "switches": 3, "zooms": 1})
            for _ in range(3):  # every catalog cached, the code paths hot
                warm = run_level(url, server_log, server.pid, 2, warm_args, browser, sampler)
                if not warm["errors"]:
                    break
                print(f"warm-up: {warm['errors']}", flush=True)
            limit = parse_bytes(args.limit)
            print(f"server {args.num_procs} process(es), preset {args.preset}, cache limit {args.limit}; "
                  f"RSS after warm-up {server_rss(server.pid) / MiB:,.0f} MiB; load average {os.getloadavg()[0]:.1f}\n")
            print("| sessions | new session (websocket) p50 / p95 ms | switch p50 / p95 ms | zoom p50 / p95 ms "
                  "| chromium: map drawn s, switch p50 ms | server RSS before / peak / all open / after MiB (peak % of limit) "
                  "| per open session MiB | sessions ended | errors |")
            print("|---|---|---|---|---|---|---|---|---|")
            for n in args.sessions:
                r = run_level(url, server_log, server.pid, n, args, browser, sampler)
                ns, sw, zm = r["new_session"], r["switch"], r["zoom"]
                chromium = (f"{percentile(r['map_visible'], .5):.1f}, {ms(r['browser_switch'], .5)}" if r["map_visible"] else "–")
                print(f"| {n} | {ms(ns, .5)} / {ms(ns, .95)} | {ms(sw, .5)} / {ms(sw, .95)} | {ms(zm, .5)} / {ms(zm, .95)} | {chromium} | "
                      f"{r['rss_before'] / MiB:,.0f} / {r['rss_peak'] / MiB:,.0f} / {r['rss_open'] / MiB:,.0f} / {r['rss_after'] / MiB:,.0f} "
                      f"({r['rss_peak'] / limit:.0%}) | {(r['rss_open'] - r['rss_before']) / n / MiB:.1f} | {r['ended']}/{n} | "
                      f"{len(r['errors'])} |", flush=True)
                if args.num_procs > 1:
                    print(f"    sessions ended per server process: {dict(sorted(r['ended_by_process'].items()))}", flush=True)
                for error in r["errors"][:3]:
                    print(f"    {error[:200]}")
            sampler.stop()
            browser.close()
    finally:
        left = stop_server(server)
        log.close()
        print(f"server processes left after the run: {len(left)}" + "".join(f"\n    {p}" for p in left), flush=True)


if __name__ == "__main__":
    main()
