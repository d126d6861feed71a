"""The cache's locks against re-entry and fork: a removal listener that loads while another load
makes room, and a child forked while another thread holds the room lock.

Every wait here has a timeout, so a deadlock fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import threading

import pytest

from vizcache import Cache
from vizcache.policies import CachePolicy

from .test_cache_review_adversarial import TIMEOUT, _all_finished, _run_in_threads


class HookPolicy(CachePolicy):
    """A plugin policy whose hooks the test drives: make_room and after_admit both evict."""

    def __init__(self, make_room=None, after_admit=None, **params) -> None:
        super().__init__(**params)
        self._make_room, self._after_admit = make_room, after_admit

    def make_room(self, cache, key) -> None:
        if self._make_room is not None:
            self._make_room(cache, key)

    def after_admit(self, cache, entry, rss_after: int) -> None:
        if self._after_admit is not None:
            self._after_admit(cache, entry)


def test_a_removal_listener_that_loads_does_not_deadlock_with_a_load_making_room():
    """Thread B evicts after its admit and its listener loads a key; thread A makes room (and
    evicts) for its own load meanwhile. The README says a listener may use the cache."""
    a_making_room, b_in_listener = threading.Event(), threading.Event()

    def make_room(cache, key):
        if key == "a":
            a_making_room.set()
            b_in_listener.wait(TIMEOUT)
            cache.evict_until(lambda: len(cache) <= 10, reason="room for a")

    def after_admit(cache, entry):
        if entry.key == "b":
            cache.evict_entries([e for e in cache.entry_objects() if e.key == "old"], reason="b landed")

    def on_removal(key, value, cause):
        if key == "old":
            b_in_listener.set()
            a_making_room.wait(TIMEOUT)
            cache.get_or_load("spill", lambda: value)

    cache = Cache(HookPolicy(make_room, after_admit), on_removal=on_removal)
    cache.put("old", "v")
    threads = _run_in_threads(lambda: cache.get_or_load("b", lambda: "b"),
                              lambda: (b_in_listener.wait(TIMEOUT), cache.get_or_load("a", lambda: "a")))
    assert _all_finished(threads), "deadlock: a listener's load waits for a load's room, which waits for the eviction"
    assert cache.get("a") == "a" and cache.get("spill") == "v"




# -- fork --------------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_while_another_thread_decides_room_can_still_load():
    in_room, release = threading.Event(), threading.Event()

    def make_room(cache, key):
        if key == "held":
            in_room.set()
            release.wait(TIMEOUT)

    cache = Cache(HookPolicy(make_room))
    holder = _run_in_threads(lambda: cache.get_or_load("held", lambda: 1))
    assert in_room.wait(TIMEOUT)
    pid = os.fork()
    if pid == 0:  # the child: one load with a watchdog; exit code 0 only if it returned
        watchdog = threading.Timer(5, os._exit, args=(3,))
        watchdog.daemon = True
        watchdog.start()
        try:
            ok = cache.get_or_load("child", lambda: 2) == 2
        except BaseException:
            ok = False
        os._exit(0 if ok else 4)
    release.set()
    _, status = os.waitpid(pid, 0)
    assert _all_finished(holder)
    assert os.waitstatus_to_exitcode(status) == 0, "the child hung on the room lock a parent thread held"
