"""A monitor's refresh, on one of Panel's threads, racing the end of its page."""

import weakref
from types import SimpleNamespace

import panel as pn
import pytest
from bokeh.document import Document
from panel.io.state import set_curdoc, state

from vizcache.viewer import monitor as monitor_module
from vizcache.viewer.monitor import CacheMonitor, MiB
from vizcache.viewer.page_life import page_ended, refresh_page

from .test_monitor import runtime  # noqa: F401  (the fixture)


class Session:
    """What a Bokeh server session is to its page's document here: its session context and its change
    listener. ``end`` does what the server does to a page left: ``ServerSession.destroy`` (the context
    unset, the models' values taken away), then Panel's clean-up."""

    def __init__(self, doc: Document) -> None:
        self.id, self.server_context, self._document = "page-life", None, doc
        self.request = SimpleNamespace(arguments={}, cookies={}, headers={})
        doc._session_context = weakref.ref(self)  # as Bokeh's server sets it
        doc.on_change_dispatch_to(self)

    def _document_patched(self, event) -> None:  # Bokeh's session hears every change; nothing to send here
        pass

    def _session_callback_added(self, event) -> None:
        pass

    def end(self) -> None:
        self._document.destroy(self)
        state._destroy_session(self)


@pytest.fixture
def served_monitor(runtime):  # noqa: F811
    doc = Document()
    session = Session(doc)
    with set_curdoc(doc):
        monitor = CacheMonitor(runtime=runtime)
        doc.add_root(pn.panel(monitor).get_root(doc))
    yield monitor, session
    if not page_ended(doc):
        session.end()


def test_a_refresh_after_its_page_ended_raises_nothing(served_monitor, runtime):  # noqa: F811
    monitor, session = served_monitor
    runtime.cache.put("entry", bytearray(16), size=MiB)  # a change the tables would show
    session.end()
    monitor.refresh()  # before: UnsetValueError, "DataTabulator(...).source doesn't have a value set"


def test_a_page_ending_while_its_refresh_runs_raises_nothing(served_monitor, runtime, monkeypatch):  # noqa: F811
    monitor, session = served_monitor
    runtime.cache.put("entry", bytearray(16), size=MiB)
    rows = monitor._entry_rows
    monkeypatch.setattr(monitor, "_entry_rows", lambda: (session.end(), rows())[1])  # the page is left mid-refresh
    monitor.refresh()


def test_an_error_while_the_page_is_open_is_raised(served_monitor, monkeypatch):
    monitor, _ = served_monitor
    monkeypatch.setattr(monitor, "_entry_rows", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        monitor.refresh()


def test_a_refresh_on_an_open_page_shows_the_cache(served_monitor, runtime):  # noqa: F811
    monitor, _ = served_monitor
    runtime.cache.put("entry", bytearray(16), size=MiB)
    monitor.refresh()
    assert list(monitor._entries.value["key"]) == ["entry"]


def test_a_page_that_was_never_served_always_refreshes():
    calls = []
    refresh_page(None, lambda: calls.append(1))
    with pytest.raises(ZeroDivisionError):
        refresh_page(None, lambda: 1 / 0)
    assert calls == [1]


def served_monitors(runtime, n: int) -> list[tuple[CacheMonitor, Session]]:  # noqa: F811
    pages = []
    for _ in range(n):
        doc = Document()
        session = Session(doc)
        with set_curdoc(doc):
            pages.append((CacheMonitor(runtime=runtime), session))
    return pages


def test_with_many_pages_open_each_monitor_refreshes_less_often(runtime, monkeypatch):  # noqa: F811
    clock = [1000.0]
    monkeypatch.setattr(monitor_module.time, "monotonic", lambda: clock[0])
    pages = served_monitors(runtime, 2 * monitor_module.FULL_RATE_PAGES)
    monitor, _ = pages[0]
    refreshed = []
    monkeypatch.setattr(monitor, "_refresh", lambda: refreshed.append(clock[0]))
    try:
        assert monitor_module.open_pages() == len(pages)
        for _ in range(8):  # a period a tick: twice the pages of the full rate, every other tick
            clock[0] += monitor.period / 1000
            monitor._tick()
        assert len(refreshed) == 4
        for _, session in pages[1:]:  # the others leave: every tick again
            session.end()
        assert monitor_module.open_pages() == 1
        refreshed.clear()
        for _ in range(4):
            clock[0] += monitor.period / 1000
            monitor._tick()
        assert len(refreshed) == 4
    finally:
        for _, session in pages:
            if not page_ended(session._document):
                session.end()


def test_an_asked_refresh_is_never_put_off(runtime, monkeypatch):  # noqa: F811
    pages = served_monitors(runtime, 3 * monitor_module.FULL_RATE_PAGES)
    monitor, _ = pages[0]
    refreshed = []
    monkeypatch.setattr(monitor, "_refresh", lambda: refreshed.append(1))
    try:
        for _ in range(3):
            monitor.refresh()
        assert refreshed == [1, 1, 1]
    finally:
        for _, session in pages:
            session.end()


def test_pages_counted_on_one_thread_while_others_open(runtime, monkeypatch):  # noqa: F811
    # Monitors are made on the server's thread and counted by refreshes on Panel's pool: a set
    # iterated while another thread adds to it raises "Set changed size during iteration".
    import threading

    monkeypatch.setattr(monitor_module, "_served_monitors", monitor_module.weakref.WeakSet())
    stop, errors, pages = threading.Event(), [], []

    def count() -> None:
        while not stop.is_set():
            try:
                monitor_module.open_pages()
            except RuntimeError as error:
                errors.append(error)

    counters = [threading.Thread(target=count) for _ in range(4)]
    for thread in counters:
        thread.start()
    try:
        pages = served_monitors(runtime, 40)
    finally:
        stop.set()
        for thread in counters:
            thread.join()
        for _, session in pages:
            session.end()
    assert errors == [] and len(pages) == 40
