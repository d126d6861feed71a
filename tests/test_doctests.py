"""The core's docstring examples run (numpydoc ``Examples`` sections), and the public API has them."""

import doctest
import importlib
from pathlib import Path

import pytest

import vizcache

CORE = sorted(
    ".".join(p.relative_to(Path(vizcache.__file__).parent.parent).with_suffix("").parts)
    for p in [*Path(vizcache.__file__).parent.glob("*.py"), *(Path(vizcache.__file__).parent / "policies").glob("*.py")]
    if p.stem not in ("__init__", "__main__", "config", "cli")  # the app's files, not the core
)
PUBLIC = ["Cache", "cached", "Sized", "AgeBased", "RSSThresholdLRU", "SizeEstimatedLRU", "LegacyRSSManager"]


@pytest.mark.parametrize("name", CORE)
def test_the_examples_in_a_core_module_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.parametrize("name", PUBLIC)
def test_each_public_name_has_a_runnable_example(name):
    obj = getattr(vizcache, name)
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, globs={})
    runnable = [ex for t in tests for ex in t.examples if not ex.options.get(doctest.SKIP)]
    assert "Examples\n" in (obj.__doc__ or "") and runnable, f"vizcache.{name} has no runnable numpydoc Examples section"
