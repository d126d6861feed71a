"""Small generated catalogs and a config for the viewer, plus a broken catalog."""

import sys

import pytest

from vizcache.catalogs.generate import generate

CONFIG = """
[policy]
name = "AgeBased"
max_age = 3600
max_idle = 3600

[data]
folders = ["data"]

[catalogs.PZWAV]
files = "data/small/pzwav.parquet"

[catalogs.AMICO]
files = "data/small/amico.parquet"

[catalogs.BOTH]
files = "data/small/both.parquet"

[catalogs.MEMBERS]
files = "data/small/members/*.parquet"
kind = "members"

[catalogs.BROKEN]
files = "data/broken.parquet"

[trace]
path = "traces/viewer.jsonl"

[viewer]
title = "test viewer"
catalog = "BOTH"
members = "MEMBERS"
"""


@pytest.fixture(scope="session")
def viewer_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("viewer")
    generate(root / "data" / "small", "small", seed=11)
    (root / "data" / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    return root


def make_config(root, name="viewer.toml", text=CONFIG):
    path = root / name
    path.write_text(text)
    return path


@pytest.fixture
def no_served_document(monkeypatch):
    """In-process server tests leave Bokeh's current document pointing at a session; not ours."""
    monkeypatch.setattr(sys.modules["panel.io.state"], "curdoc_locked", lambda: None)


def catalog_image(sky) -> dict:
    """What the sky map's catalog image shows: its data source's columns (the image, its placement
    and the pixel hover's arrays), one value each."""
    return {column: values[0] for column, values in sky.map.figure.images.data.items()}
