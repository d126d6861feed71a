"""Runs Panel's own ``panel/tests/io/test_cache.py`` (from the installed wheel, never copied here)
against ``vizcache.cached``: the fixtures that module asks of Panel's conftest, and the clean-up
Panel's conftest does after every test (its ``server_cleanup`` and ``cache_cleanup``).

Panel's conftest itself is not loaded: it would re-sort and deselect this repository's tests.
"""

from __future__ import annotations

import pytest
from bokeh.document import Document


@pytest.fixture
def document():
    return Document()


@pytest.fixture
def port():
    from panel.tests.util import get_open_ports

    return get_open_ports()[0]


@pytest.fixture(autouse=True)
def panel_state_cleanup():
    """As Panel's conftest: every test starts with empty caches and ends with its servers stopped."""
    from panel.io.state import state

    state.clear_caches()  # also forgets what vizcache.cached functions hold (vizcache.memoize)
    try:
        yield
    finally:
        state.reset()
