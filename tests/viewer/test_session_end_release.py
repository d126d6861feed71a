"""Sessions that end together are collected once, on the server's loop, after RELEASE_DELAY."""

import asyncio

from vizcache.viewer import app


def test_a_burst_of_ended_sessions_is_collected_once_and_a_later_end_again(monkeypatch, caplog):
    collections = []
    monkeypatch.setattr(app, "release_memory", lambda: collections.append(asyncio.get_running_loop().time()))
    monkeypatch.setattr(app, "RELEASE_DELAY", 0.2)
    caplog.set_level("INFO", logger="vizcache.viewer")

    async def sessions_end() -> None:
        start = asyncio.get_running_loop().time()
        for _ in range(20):  # 20 pages closed at once
            app._session_ended(None)
        assert collections == []  # not on the ending session's own call: later, once
        await asyncio.sleep(0.5)
        assert len(collections) == 1 and collections[0] - start >= 0.2
        app._session_ended(None)  # a page closed later gets its own collection
        await asyncio.sleep(0.5)
        assert len(collections) == 2

    asyncio.run(sessions_end())
    assert caplog.text.count("session ended in server process") == 21  # every end still logged at once


def test_an_end_outside_a_running_loop_is_collected_at_once(monkeypatch):
    collections = []
    monkeypatch.setattr(app, "release_memory", lambda: collections.append(1))
    app._session_ended(None)
    app._session_ended(None)
    assert collections == [1, 1]  # and nothing is left pending: the next burst is collected too
