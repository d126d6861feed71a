"""The README's export round trip, taken at 1440 px in Debian's chromium (headless).

    vizcache generate --preset default            # data/default in the working directory
    .venv/bin/python docs/images/export_screenshot.py [WORKDIR]

serves the viewer with its built-in config from WORKDIR, zooms to the brightest cluster of BOTH, draws a
box selection over some of its neighbours, downloads the selection as VOTable, FITS and ECSV, reads each
file back with astropy and writes docs/images/export-roundtrip.png: the page (left) beside what astropy
reads from each file — column names, units and the first rows (right).
"""

import html
import io
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from astropy.table import Table
from PIL import Image
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
from tests.ports import free_port, wait_for_port  # noqa: E402
from tests.ui.bokeh_map import set_view  # noqa: E402

FORMATS = {"VOTable": "votable", "FITS": "fits", "ECSV": "ascii.ecsv"}
SHOWN = 5  # rows of each file in the picture


def _select_box(page, ra: float, dec: float) -> None:
    set_view(page, (ra + 1.5, ra - 1.5), (dec - 0.75, dec + 0.75))
    time.sleep(4)
    box = page.locator(".vizcache-skymap .bk-Canvas").first.bounding_box()
    page.locator(".bk-tool-icon-box-select").first.click()
    cx, cy = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5
    page.mouse.move(cx - 200, cy - 120)
    page.mouse.down()
    page.mouse.move(cx, cy, steps=5)
    page.mouse.move(cx + 120, cy + 120, steps=5)
    page.mouse.up()
    page.get_by_text("rows selected").first.wait_for(timeout=60_000)
    time.sleep(2)


def _as_html(files: dict[str, Path]) -> str:
    """What astropy reads from each file: its names, units and first rows, as one page."""
    parts = []
    for label, path in files.items():
        table = Table.read(path, format=FORMATS[label])
        names = table.colnames[:8]
        head = "".join(f"<th>{html.escape(n)}<br><span class=u>{html.escape(str(table[n].unit or ''))}</span></th>" for n in names)

        def cell(value) -> str:
            value = value.decode() if isinstance(value, bytes) else value
            return f"{value:.5g}" if isinstance(value, (float, np.floating)) else html.escape(str(value))

        rows = "".join("<tr>" + "".join(f"<td>{cell(table[n][i])}</td>" for n in names) + "</tr>" for i in range(min(SHOWN, len(table))))
        parts.append(f"<h3>Table.read('{html.escape(path.name)}', format='{FORMATS[label]}') — {len(table)} rows</h3>"
                     f"<table><tr>{head}</tr>{rows}</table>")
    style = ("body{font:13px sans-serif;margin:16px;width:700px} table{border-collapse:collapse;margin-bottom:18px} "
             "th,td{border:1px solid #ccc;padding:3px 6px;text-align:right} .u{color:#1565c0;font-weight:normal} h3{font-size:14px}")
    return f"<html><head><style>{style}</style></head><body>{''.join(parts)}</body></html>"


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
            page = browser.new_page(viewport={"width": 1440, "height": 1300}, accept_downloads=True)
            page.goto(f"http://127.0.0.1:{port}/viewer", timeout=300_000)
            page.locator(".vizcache-skymap .bk-Canvas").first.wait_for(timeout=300_000)
            time.sleep(3)
            _select_box(page, *_brightest_at(workdir))
            files = {}
            for label in FORMATS:
                with page.expect_download(timeout=120_000) as event:
                    page.get_by_role("button", name=label, exact=True).click()
                files[label] = workdir / event.value.suggested_filename
                event.value.save_as(files[label])
            page.mouse.move(5, 700)  # no tooltip in the picture
            time.sleep(1)
            left = Image.open(io.BytesIO(page.screenshot()))
            reader = browser.new_page(viewport={"width": 740, "height": 1300})
            reader.set_content(_as_html(files))
            right = Image.open(io.BytesIO(reader.screenshot(full_page=True)))
            browser.close()
        picture = Image.new("RGB", (left.width + right.width, max(left.height, right.height)), "white")
        picture.paste(left, (0, 0))
        picture.paste(right, (left.width, 0))
        picture.save(HERE / "export-roundtrip.png", optimize=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _brightest_at(workdir: Path) -> tuple[float, float]:
    frame = Table.read(workdir / "data" / "default" / "both.parquet", format="parquet").to_pandas()
    row = frame.loc[frame["SNR_CLUSTER"].idxmax()]
    return float(row["RIGHT_ASCENSION_CLUSTER"]), float(row["DECLINATION_CLUSTER"])


if __name__ == "__main__":
    main()
