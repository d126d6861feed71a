"""The viewer app served in-process by Panel's server, requested over HTTP, the cache observed."""

import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import panel as pn
import pytest

import vizcache.catalogs.readers as readers
from vizcache.viewer.app import create_app
from vizcache.viewer.runtime import get_runtime
from vizcache.viewer.skymap import SkyMap

from ..ports import free_port, wait_for_port
from ..waiting import wait_until
from .conftest import make_config

pn.extension("tabulator", notifications=True)



@pytest.fixture
def server(viewer_data, tmp_path, monkeypatch):
    """A fresh config (so a fresh process-wide runtime) served on a free local port."""
    config = make_config(viewer_data, f"server-{tmp_path.name}.toml")
    monkeypatch.setenv("VIZCACHE_CONFIG", str(config))
    port = free_port()
    thread = pn.serve({"viewer": create_app}, port=port, address="127.0.0.1", threaded=True, show=False, start=True,
                      websocket_origin=f"127.0.0.1:{port}")
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}/viewer", get_runtime(config)
    thread.stop()
    pn.state.curdoc = None


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=120) as response:
        return response.status, response.read().decode()


def test_page_serves_and_a_second_session_hits_the_shared_cache(server):
    url, runtime = server
    status, html = get(url)
    assert status == 200 and "test viewer" in html
    assert runtime.cache.stats()["loads"] == 1
    get(url)
    stats = runtime.cache.stats()
    assert stats["loads"] == 1 and stats["hits"] >= 1


def test_concurrent_sessions_load_a_catalog_once(server, monkeypatch):
    # Panel's server builds sessions one at a time on its event loop, but runs their callbacks in threads
    # (nthreads): six sessions switch to AMICO at once, and the one read waits until the five others wait on it.
    url, runtime = server
    maps = [SkyMap(runtime=runtime, served=False) for _ in range(6)]
    assert runtime.cache.stats()["loads"] == 1  # the default catalog, then hits
    original, reads = readers.read_source_batches, []

    def read_once_the_others_wait(path, *a):
        reads.append(path)
        wait_until(lambda: runtime.cache.stats()["coalesced"] == 5, message="5 sessions waiting on the first one's load")
        return original(path, *a)

    monkeypatch.setattr("vizcache.catalogs.source.read_source_batches", read_once_the_others_wait)
    start = threading.Barrier(6)

    def switch(sky):
        start.wait(timeout=60)
        sky.catalog = "AMICO"

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(switch, maps))
    assert [p.name for p in reads] == ["amico.parquet"]
    stats = runtime.cache.stats()
    assert (stats["requests"], stats["loads"], stats["coalesced"]) == (12, 2, 5)
    assert all(m.catalog == "AMICO" and m.frame is maps[0].frame for m in maps)  # one frame shared by all
    assert get(url + "?catalog=AMICO")[0] == 200 and runtime.cache.stats()["loads"] == 2  # a served session hits it


def test_url_selects_a_catalog_and_cannot_name_a_file(server, monkeypatch):
    url, runtime = server
    read = []
    original = readers.read_source_batches
    monkeypatch.setattr("vizcache.catalogs.source.read_source_batches", lambda path, *a: read.append(path) or original(path, *a))
    for query in ("?catalog=PZWAV", "?catalog=NOPE", "?catalog=../../../../etc/passwd", "?catalog=/etc/passwd", "?catalog=data/broken.parquet"):
        status, _ = get(url + query)
        assert status == 200  # the server stays up whatever the URL says
    folders = runtime.config.folders
    assert read and all(any(f in p.parents for f in folders) for p in read)
    assert {p.name for p in read} == {"pzwav.parquet", "both.parquet"}  # unknown names fall back to the default


def test_broken_catalog_fails_in_its_session_only(server):
    url, runtime = server
    status, _ = get(url + "?catalog=BROKEN")
    assert status == 200
    assert runtime.cache.stats()["load_failures"] == 1
    status, _ = get(url + "?catalog=AMICO")
    assert status == 200 and "AMICO" in [e["key"][0] for e in runtime.cache.entries()]


def test_sessions_are_recorded_in_the_trace(server):
    url, runtime = server
    get(url + "?catalog=PZWAV")
    get(url + "?catalog=PZWAV")
    runtime.cache.flush_trace()
    from vizcache import read_trace

    rows = read_trace(runtime.config.trace)
    mine = [r for r in rows if "PZWAV" in r["key"]]
    assert [r["hit"] for r in mine][-2:] == [False, True]


def test_first_start_generates_missing_data_with_progress_then_serves(tmp_path, monkeypatch):
    config = tmp_path / "fresh.toml"
    config.write_text('[policy]\nname = "AgeBased"\n[data]\nfolders = ["data"]\ngenerate = "small"\n'
                      '[catalogs.BOTH]\nfiles = "data/small/both.parquet"\n[viewer]\ncatalog = "BOTH"\n')
    monkeypatch.setenv("VIZCACHE_CONFIG", str(config))
    port = free_port()
    thread = pn.serve({"viewer": create_app}, port=port, address="127.0.0.1", threaded=True, show=False, start=True,
                      websocket_origin=f"127.0.0.1:{port}")
    try:
        wait_for_port(port)
        status, _ = get(f"http://127.0.0.1:{port}/viewer")
        runtime = get_runtime(config)
        assert status == 200 and (runtime.generation.running or runtime.generation.done)  # started, page served meanwhile
        wait_until(lambda: runtime.generation.done, timeout=120, message="the data set generated")
        assert runtime.generation.fraction == 1.0
        assert (tmp_path / "data" / "small" / "both.parquet").exists()
        get(f"http://127.0.0.1:{port}/viewer")  # a later session goes straight to the viewer
        assert runtime.cache.stats()["loads"] >= 1 and not runtime.missing_catalogs()
    finally:
        thread.stop()
        pn.state.curdoc = None


def _serve(config, *extra):
    import subprocess
    import sys

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "vizcache.cli", "serve", "--config", str(config), "--port", str(port), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return proc, port, wait_until(lambda: get(f"http://127.0.0.1:{port}/viewer"), timeout=120, interval=0.3, ignore=(OSError,),
                                      message="vizcache serve answering")
    except AssertionError:
        proc.kill()
        proc.wait()
        raise


def _processes_serving(config) -> list:
    import psutil

    return [p for p in psutil.process_iter(["cmdline", "status"]) if p.info["status"] != psutil.STATUS_ZOMBIE
            and str(config) in " ".join(p.info["cmdline"] or [])]


@pytest.mark.parametrize("procs", [1, 2])
def test_vizcache_serve_serves_viewer_and_sigterm_stops_every_process(viewer_data, tmp_path, procs):
    import signal

    config = make_config(viewer_data, f"serve-{tmp_path.name}.toml")
    proc, port, (status, html) = _serve(config, "--num-procs", str(procs))
    try:
        assert status == 200 and "<title>test viewer</title>" in html  # at /viewer, the URL the README names
        servers = [p for p in _processes_serving(config) if p.pid != proc.pid]
        assert len(servers) == (1 if procs == 1 else 1 + procs)  # panel serve, plus its forked workers
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    wait_until(lambda: _processes_serving(config) == [], timeout=15, message="every serving process gone")  # nothing orphaned
    with pytest.raises(OSError):
        get(f"http://127.0.0.1:{port}/viewer")


def test_vizcache_serve_rejects_a_bad_config_in_one_line(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.toml"
    bad.write_text('[viewer]\ncatalog = "NOPE"\n')
    result = subprocess.run([sys.executable, "-m", "vizcache.cli", "serve", "--config", str(bad)], capture_output=True, text=True)
    assert result.returncode == 2 and "[viewer] catalog = 'NOPE' is not a configured  catalog" in result.stderr


def test_a_closed_session_is_destroyed_and_leaves_nothing_on_the_shared_runtime(viewer_data, tmp_path, monkeypatch):
    """A session's models, plots and frames go when the server destroys it: nothing on the process-wide
    runtime (cache, watchers, callbacks) keeps its sky map alive."""
    import gc
    import weakref

    from bokeh.client import pull_session
    from bokeh.events import DocumentReady

    import vizcache.viewer.app as app

    config = make_config(viewer_data, f"ended-{tmp_path.name}.toml")
    monkeypatch.setenv("VIZCACHE_CONFIG", str(config))
    maps = []
    build = app.build_viewer
    monkeypatch.setattr(app, "build_viewer", lambda *a: maps.append(weakref.ref(build(*a))) or maps[-1]())
    port = free_port()
    server = pn.serve({"viewer": create_app}, port=port, address="127.0.0.1", threaded=True, show=False, start=True,
                      websocket_origin=f"127.0.0.1:{port}", unused_session_lifetime_milliseconds=300, check_unused_sessions_milliseconds=100)
    try:
        wait_for_port(port)
        session = pull_session(url=f"http://127.0.0.1:{port}/viewer")
        session.document.callbacks.send_event(DocumentReady())  # what a browser sends: onload callbacks run
        assert len(maps) == 1 and maps[0]() is not None
        session.close()
        session._connection.io_loop.run_sync(lambda: __import__("asyncio").sleep(0.2))  # the close frame goes out
        # destroyed, and nothing the process keeps points to it
        wait_until(lambda: gc.collect() is not None and maps[0]() is None, timeout=30, interval=0.2, message="the session's sky map collected")
        assert get_runtime(config).cache.stats()["loads"] == 1  # the catalog stays cached for the next session
    finally:
        server.stop()
        pn.state.curdoc = None


def test_a_new_page_goes_out_with_its_map_and_sends_what_is_below_it_once_shown(server):
    # A Bokeh client opens the page as a browser does: the first document has the sky map, the
    # monitor and the histograms come once the page says it is ready (defer_load).
    from bokeh.client import pull_session
    from bokeh.events import DocumentReady

    url, _ = server
    session = pull_session(url=url)
    try:
        doc = session.document

        def titles() -> set[str]:
            return {str(m.title.text) for m in list(doc.models) if m.__view_model__ == "Figure" and m.title is not None}

        assert any(m.__view_model__ == "Figure" and m.x_range.start > m.x_range.end for m in doc.models)  # the map
        assert "Memory over time" not in titles() and not any(t.startswith("SNR") for t in titles())
        doc.callbacks.send_event(DocumentReady())
        connection = session._connection  # noqa: SLF001  the client's loop, run until the server has sent them
        timer = connection.io_loop.call_later(60, connection.io_loop.stop)
        connection._loop_until(lambda: "Memory over time" in titles() and any(t.startswith("SNR") for t in titles()))  # noqa: SLF001
        connection.io_loop.remove_timeout(timer)
        assert "Memory over time" in titles() and any(t.startswith("SNR: ") for t in titles())
        monitors = [m for m in doc.models if m.__view_model__ == "Figure" and m.title is not None and m.title.text == "Memory over time"]
        assert len(monitors) == 1  # one monitor, however often Panel asks for the deferred part
    finally:
        session.close()
