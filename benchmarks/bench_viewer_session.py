"""Server-side cost of a new viewer session on a cached catalog: time and memory, in one process.

    .venv/bin/python benchmarks/bench_viewer_session.py [--sessions 20] [--preset small] [--profile 40]

What the server does for each new page, without the network: build the page (``create_app``),
turn it into a Bokeh document (``server_doc``), serialise that document (``to_json``, what the
websocket sends), then run what the page left for later: its ``pn.state.onload`` callbacks (sent
when the browser says the page is ready) and the next-tick callbacks they and the build queued
(the view's histograms and table), as the server's loop would. The document carries a session
context, so the page takes its served code paths. The catalog is loaded once before timing, so
every session is a cache hit. The documents are kept (as open sessions would be), then dropped
and the memory released the way the server does when sessions end (destroy callbacks,
``gc.collect`` + ``malloc_trim``). Medians are quoted.

Last, what the server's thread pays when a session ends (its ``gc.collect`` + ``malloc_trim``).
With ``--as-server`` the process first prepares itself as a served viewer does before its first
page (``prepare_server_process``: warm-up, then the heap frozen), so a collection walks only what
sessions left; without it, the whole heap.
"""

import argparse
import cProfile
import os
import pstats
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
from vizcache.viewer.app import create_app, prepare_server_process  # before pn.extension: it loads HoloViews' Bokeh backend only if HoloViews is imported


from _viewer_config import viewer_config

MiB = 2**20


class ServedDocument(Document):
    """A document as a server session holds it: a session context; next-tick callbacks kept in order."""

    def __init__(self, number: int) -> None:
        super().__init__()
        request = SimpleNamespace(arguments={}, cookies={}, headers={}, path="/viewer", uri="/viewer", protocol="http", host="127.0.0.1")
        self.context = SimpleNamespace(id=f"bench-{number}", request=request, server_context=None, _document=self)
        self._session_context = lambda: self.context
        self.ticks = []

    def add_next_tick_callback(self, callback):
        self.ticks.append(callback)  # no server loop here: run_ticks runs them

    def run_ticks(self) -> None:
        """Run queued next-tick callbacks (and those they queue) in order, as the server's loop does."""
        while self.ticks:
            with set_curdoc(self):
                self.ticks.pop(0)()


def new_session(number: int) -> tuple[ServedDocument, float, float]:
    """A session's document, the seconds until it is sent, and the seconds until its deferred work is done."""
    doc = ServedDocument(number)
    start = time.perf_counter()
    with set_curdoc(doc):
        create_app().server_doc(doc)
        doc.to_json()
    sent = time.perf_counter() - start
    pn.state._on_load(doc)  # the browser's "document ready"
    doc.run_ticks()
    return doc, sent, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--preset", default="small", choices=["small", "default"])
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile one session instead and print its top N calls")
    parser.add_argument("--as-server", action="store_true", help="prepare the process as `panel serve` does before its first page")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vizcache-session-"))
    generate(root / "data", args.preset, seed=3)
    (root / "viewer.toml").write_text(viewer_config())
    os.environ["VIZCACHE_CONFIG"] = str(root / "viewer.toml")
    pn.extension("tabulator", notifications=True)
    if args.as_server:
        prepare_server_process()
    process = psutil.Process()
    for i in range(3):  # warm-up: the catalog is cached, imports and first-use costs are paid
        end_session(new_session(-1 - i)[0])
    release_memory()
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        end_session(new_session(-9)[0])
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)
        return
    before = process.memory_info().rss
    docs, sent, settled = [], [], []
    for i in range(args.sessions):
        doc, to_sent, to_settled = new_session(i)
        docs.append(doc)
        sent.append(to_sent)
        settled.append(to_settled)
    release_memory()
    held = process.memory_info().rss
    for doc in docs:
        end_session(doc)
    docs.clear()
    release_memory()
    after = process.memory_info().rss
    print(f"| new session until sent (create_app + server_doc + to_json), median of {args.sessions} | "
          f"{statistics.median(sent) * 1e3:.0f} ms (min {min(sent) * 1e3:.0f}, max {max(sent) * 1e3:.0f}) |")
    print(f"| new session until its deferred work is done (+ onload, next-tick callbacks) | "
          f"{statistics.median(settled) * 1e3:.0f} ms (min {min(settled) * 1e3:.0f}, max {max(settled) * 1e3:.0f}) |")
    print(f"| memory per open session ({args.sessions} held) | {(held - before) / args.sessions / MiB:.1f} MiB |")
    print(f"| RSS before / with the sessions / after they end | {before / MiB:,.0f} / {held / MiB:,.0f} / {after / MiB:,.0f} MiB |")
    collections = collection_after_session_end(args.sessions)
    print(f"| collection after a session ends (gc.collect + malloc_trim), {'as served' if args.as_server else 'heap not frozen'} | "
          f"{statistics.median(collections) * 1e3:.0f} ms |")


def collection_after_session_end(sessions: int) -> list[float]:
    """Seconds of the release the server runs when a session ends, one session at a time."""
    seconds = []
    for i in range(sessions):
        end_session(new_session(100 + i)[0])
        start = time.perf_counter()
        release_memory()
        seconds.append(time.perf_counter() - start)
    return seconds


def end_session(doc: ServedDocument) -> None:
    """What the server does when a session expires: destroy the document, then its destroy callbacks."""
    context = doc.context
    callbacks = list(doc.session_destroyed_callbacks)
    session = object()  # the server's session, a change listener of its document
    doc.on_change_dispatch_to(session)
    doc.destroy(session)
    for callback in callbacks:
        try:
            callback(context)
        except KeyError:  # a component already gone with an earlier callback
            pass


if __name__ == "__main__":
    main()
