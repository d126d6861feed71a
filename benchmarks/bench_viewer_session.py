"""Server-side cost of a new viewer session on a cached catalog: time and memory, in one process.

    .venv/bin/python benchmarks/bench_viewer_session.py [--sessions 20] [--preset small]

What the server does for each new page, without the network: build the page (``create_app``),
turn it into a Bokeh document (``server_doc``) and serialise that document (``to_json``, what the
websocket sends). The catalog is loaded once before timing, so every session is a cache hit. The
documents are kept (as open sessions would be), then dropped and the memory released the way the
server does when sessions end (``gc.collect`` + ``malloc_trim``). Medians are quoted.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import panel as pn
import psutil
from bokeh.document import Document
from panel.io.state import set_curdoc

from vizcache.catalogs.generate import generate
from vizcache.memory import release_memory

from _viewer_config import viewer_config

MiB = 2**20


def new_session() -> tuple[Document, float]:
    from vizcache.viewer.app import create_app

    doc = Document()
    start = time.perf_counter()
    with set_curdoc(doc):
        create_app().server_doc(doc)
        doc.to_json()
    return doc, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--preset", default="small", choices=["small", "default"])
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vizcache-session-"))
    generate(root / "data", args.preset, seed=3)
    (root / "viewer.toml").write_text(viewer_config())
    os.environ["VIZCACHE_CONFIG"] = str(root / "viewer.toml")
    pn.extension("tabulator", notifications=True)
    process = psutil.Process()
    for _ in range(3):  # warm-up: the catalog is cached, imports and first-use costs are paid
        new_session()
    release_memory()
    before = process.memory_info().rss
    docs, seconds = [], []
    for _ in range(args.sessions):
        doc, elapsed = new_session()
        docs.append(doc)
        seconds.append(elapsed)
    release_memory()
    held = process.memory_info().rss
    for i, doc in enumerate(docs):  # what the server does when a session expires
        context = SimpleNamespace(id=f"bench-{i}", _document=doc)
        for callback in list(doc.session_destroyed_callbacks):
            try:
                callback(context)
            except KeyError:  # a component already gone with an earlier callback
                pass
        pn.state._destroy_session(context)
        doc.clear()
    docs.clear()
    release_memory()
    after = process.memory_info().rss
    print(f"| new session, server side (create_app + server_doc + to_json), median of {args.sessions} | "
          f"{statistics.median(seconds) * 1e3:.0f} ms (min {min(seconds) * 1e3:.0f}, max {max(seconds) * 1e3:.0f}) |")
    print(f"| memory per open session ({args.sessions} held) | {(held - before) / args.sessions / MiB:.1f} MiB |")
    print(f"| RSS before / with the sessions / after they end | {before / MiB:,.0f} / {held / MiB:,.0f} / {after / MiB:,.0f} MiB |")


if __name__ == "__main__":
    main()
