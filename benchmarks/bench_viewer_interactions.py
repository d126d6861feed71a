"""Server-side cost of a catalog switch and a zoom in one open viewer page, in one process.

    .venv/bin/python benchmarks/bench_viewer_interactions.py [--rounds 5] [--preset small]

A page is built as bench_viewer_session.py builds it (a served document: create_app, server_doc,
the browser's "document ready", the next-tick callbacks), with its table and histograms. Then, per
round, the sky map switches PZWAV → AMICO → BOTH and zooms twice (×2 about RA 180°, Dec 0°, then
back out to the whole sky), each timed until the work it queued for the page has run (its
next-tick callbacks: image, view, histograms, table, markers). The catalogs are cached first, so
what is timed is the page's own work. Prints the medians (min–max) over the rounds.

Runs against the tree it is in: copy it into another checkout to time that one (side by side).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--preset", default="small", choices=["small", "default"])
    args = parser.parse_args()
    import panel as pn
    from _viewer_config import viewer_config
    from panel.io.state import set_curdoc

    from vizcache.catalogs.generate import generate
    from vizcache.viewer import skymap

    root = Path(tempfile.mkdtemp(prefix="vizcache-interactions-"))
    generate(root / "data", args.preset, seed=3)
    (root / "viewer.toml").write_text(viewer_config())
    os.environ["VIZCACHE_CONFIG"] = str(root / "viewer.toml")
    os.chdir(root)
    pn.extension("tabulator", notifications=True)
    from bench_viewer_session import end_session, new_session

    maps = []  # the page's SkyMap, as it is made (the page holds it; a benchmark needs a handle)
    made = skymap.SkyMap.__init__

    def keep(self, *a, **k):
        made(self, *a, **k)
        maps.append(self)

    skymap.SkyMap.__init__ = keep
    for i in range(2):  # warm-up: catalogs cached, first-use costs paid
        end_session(new_session(-1 - i)[0])
    doc = new_session(1)[0]
    sky = maps[-1]
    seconds: dict[str, list[float]] = {"switch": [], "zoom in": [], "zoom out": []}

    def timed(kind: str, change) -> None:
        start = time.perf_counter()
        with set_curdoc(doc):
            change()
        doc.run_ticks()
        seconds[kind].append(time.perf_counter() - start)

    for _ in range(args.rounds + 1):  # the first round warms the paths up and is not counted
        for catalog in ("PZWAV", "AMICO", "BOTH"):
            timed("switch", lambda catalog=catalog: setattr(sky, "catalog", catalog))
        timed("zoom in", lambda: sky.set_view_ranges((90.0, 270.0), (-45.0, 45.0)))
        timed("zoom out", lambda: sky.set_view_ranges((0.0, 360.0), (-90.0, 90.0)))
    print(f"| tree | switch ms, median (min–max) of {3 * args.rounds} | zoom in ms (of {args.rounds}) | zoom out ms (of {args.rounds}) |")
    print("|---|---|---|---|")
    counted = {kind: values[len(values) // (args.rounds + 1):] for kind, values in seconds.items()}
    cells = (f"{statistics.median(v) * 1e3:,.0f} ({min(v) * 1e3:,.0f}–{max(v) * 1e3:,.0f})" for v in counted.values())
    print(f"| {REPO} | " + " | ".join(cells) + " |")
    end_session(doc)


if __name__ == "__main__":
    main()
