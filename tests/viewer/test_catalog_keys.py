"""A catalog's cache key: named, versioned by its files, and not re-listed on every switch."""

import pytest

import vizcache.viewer.runtime as runtime_module
from vizcache.cache_key import CacheKey
from vizcache.catalogs import source as source_module
from vizcache.catalogs.generate import generate
from vizcache.config import load_config
from vizcache.viewer.runtime import ViewerRuntime

CONFIG = """
[policy]
name = "AgeBased"

[data]
folders = ["data"]

[catalogs.PZWAV]
files = "data/small/pzwav.parquet"

[catalogs.MEMBERS]
files = "data/small/members/*.parquet"
kind = "members"
"""


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    generate(tmp_path / "data" / "small", "small", seed=3)
    (tmp_path / "viewer.toml").write_text(CONFIG)
    now = [1000.0]
    monkeypatch.setattr(runtime_module.time, "monotonic", lambda: now[0])
    listed = []
    real = source_module.resolve_files
    monkeypatch.setattr(source_module, "resolve_files", lambda spec: listed.append(spec.name) or real(spec))
    rt = ViewerRuntime(load_config(tmp_path / "viewer.toml"))
    return rt, now, listed, tmp_path


def test_a_switch_within_the_recheck_period_lists_no_file(runtime):
    rt, now, listed, _ = runtime
    first = rt.load("MEMBERS")
    after_the_load = len(listed)
    for _ in range(5):
        now[0] += runtime_module.VERSION_RECHECK_S / 10
        assert rt.load("MEMBERS") is first
    assert len(listed) == after_the_load and rt.cache.stats()["hits"] == 5
    key = rt.key("MEMBERS")
    assert isinstance(key, CacheKey) and key.name == "MEMBERS" and key.label == "MEMBERS"


def test_a_replaced_file_is_loaded_after_the_recheck_period_and_its_old_version_dropped(runtime):
    rt, now, _, root = runtime
    old = rt.load("PZWAV")
    old_key = rt.key("PZWAV")
    path = root / "data" / "small" / "pzwav.parquet"
    import pyarrow.parquet as pq

    pq.write_table(pq.read_table(path).slice(0, 7), path)
    assert rt.load("PZWAV") is old  # within the period: the version is trusted
    now[0] += runtime_module.VERSION_RECHECK_S + 0.01
    new = rt.load("PZWAV")
    assert len(new.data) == 7 and rt.key("PZWAV") != old_key
    assert old_key not in rt.cache and rt.is_cached("PZWAV")


def test_a_load_is_planned_for_its_peak_read_from_the_footers_once_per_version(runtime, monkeypatch):
    rt, now, _, tmp_path = runtime
    footers, planned = [], []
    real_metadata = source_module.pq.read_metadata
    monkeypatch.setattr(source_module.pq, "read_metadata", lambda path: footers.append(path) or real_metadata(path))
    real_load = rt.cache.get_or_load
    monkeypatch.setattr(rt.cache, "get_or_load", lambda key, loader, **kw: planned.append(kw.get("expected_bytes")) or real_load(key, loader, **kw))
    catalog = rt.load("MEMBERS")
    files = len(catalog.files)
    held = catalog.data.memory_usage(deep=True).sum()
    assert len(footers) == files and planned[0] == rt.expected_peak(rt.key("MEMBERS"))
    # the peak: ~1.5x what the catalog keeps plus the reader's fixed part, from metadata alone
    assert held * 1.3 < planned[0] - source_module.LOAD_PEAK_FIXED < held * 1.7
    now[0] += 3 * runtime_module.VERSION_RECHECK_S  # the files are checked again, unchanged
    rt.load("MEMBERS")
    assert len(footers) == files  # the same version: its footers are not read again
    member_file = catalog.files[0]
    member_file.write_bytes(member_file.read_bytes())  # touched: a new version
    now[0] += 3 * runtime_module.VERSION_RECHECK_S
    rt.load("MEMBERS")
    assert len(footers) == 2 * files


def test_no_peak_is_guessed_for_a_format_without_footers(tmp_path):
    generate(tmp_path / "data" / "small", "small", seed=3, fits=True)
    (tmp_path / "viewer.toml").write_text('[policy]\nname = "AgeBased"\n[data]\nfolders = ["data"]\n'
                                          '[catalogs.PZWAV]\nfiles = "data/small/pzwav.fits"\n')
    rt = ViewerRuntime(load_config(tmp_path / "viewer.toml"))
    assert rt.expected_peak(rt.key("PZWAV")) is None and len(rt.load("PZWAV")) > 0
