"""The README's first command on a machine with no data yet: server start, generation, first map.

    .venv/bin/python benchmarks/bench_first_start.py

Runs ``panel serve apps/viewer.py`` (the built-in config, so the default preset is generated into
``data/default`` of an empty working directory) and opens the page in Chromium at once, as a user
would. Prints seconds since the command started until the port answers, until the generation
page shows, and until the viewer's map is drawn; and every request the page tried to send
anywhere but 127.0.0.1 (refused here), which must be none.
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]
from tests.ports import free_port, wait_for_port  # noqa: E402
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def main() -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(REPO / "apps" / "viewer.py"), "--port", str(port),
                                   "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}"],
                                  cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, timeout=300)
            listening = time.perf_counter() - start
            outside = []
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900})

                def route(r):
                    if urlsplit(r.request.url).hostname == "127.0.0.1" or r.request.url.startswith(("data:", "blob:")):
                        r.continue_()
                    else:
                        outside.append(r.request.url)
                        r.abort()

                page.route("**/*", route)
                page.goto(f"http://127.0.0.1:{port}/viewer", timeout=300_000)
                page.get_by_text("Generating the default catalogs", exact=False).first.wait_for(timeout=300_000)
                generating = time.perf_counter() - start
                page.get_by_text("Cache monitor").wait_for(timeout=1_800_000)
                page.locator(".vizcache-skymap .bk-Canvas").first.wait_for(timeout=300_000)
                page.wait_for_load_state("networkidle")
                drawn = time.perf_counter() - start
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(f"port answers {listening:.1f} s, generation page {generating:.1f} s, viewer with its map {drawn:.1f} s "
          f"(generation and first page: {drawn - generating:.1f} s)")
    print(f"requests leaving 127.0.0.1: {outside or 'none'}")


if __name__ == "__main__":
    main()
