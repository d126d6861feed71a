"""Panel's own cache tests, collected from the installed wheel, with the module's ``cache`` pointed at
``vizcache.cached`` and its ``_generate_hash`` at vizcache's argument hash (so Panel's hashing
tests check vizcache's hashing rules). All of them pass: none is marked ``xfail``."""

from __future__ import annotations

import pytest
from panel.tests.io import test_cache as panel_cache_tests

import vizcache
from vizcache.memoize_hashing import content_hash

# pytest collects these names from this module; their globals stay Panel's module.
globals().update({name: test for name, test in vars(panel_cache_tests).items()
                  if name.startswith("test_") and callable(test)})


@pytest.fixture(autouse=True)
def vizcache_in_panels_place(monkeypatch):
    monkeypatch.setattr(panel_cache_tests, "cache", vizcache.cached)
    monkeypatch.setattr(panel_cache_tests, "_generate_hash", content_hash)
