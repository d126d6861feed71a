"""The viewer in a notebook (JupyterLab): the page's sidebar and main area as one Panel object.

>>> from vizcache.viewer.notebook import viewer, sky_map
>>> viewer(config="my.toml")           # the whole viewer: find box, controls, sky map, table, monitor, comparison tab
>>> sky = sky_map(config="my.toml", catalog="AMICO"); sky   # the sky map with its table and histograms only
>>> sky.table.listed()                 # the rows in view (or selected) as a DataFrame, in the table's order

Both use the kernel's runtime of their config (get_runtime: one cache per config file, as in a
server process), so several views of one catalog load it once. sky_map logs what the served page
would show as a notification (a catalog that cannot load).
"""

from __future__ import annotations

import logging
from pathlib import Path

import panel as pn

from .app import build_viewer
from .runtime import ViewerRuntime, default_config_path, get_runtime
from .skymap import SkyMap

log = logging.getLogger(__name__)


def _runtime(config: str | Path | None) -> ViewerRuntime:
    """The runtime of ``config`` (default: the built-in config, its data folder under the working directory, as
    ``panel serve`` has it); a missing file is one clear error."""
    if config is None:
        return get_runtime(default_config_path(), Path.cwd())
    path = Path(config).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"vizcache config {path}: no such file (give config= the path of a viewer TOML file)")
    return get_runtime(path.resolve())


def _extension() -> None:
    # Tabulator's JavaScript with the page (the table); loaded once per kernel, as pn.extension in a cell would.
    pn.extension("tabulator")


def viewer(config: str | Path | None = None, height: int = 900) -> pn.Row:
    """The whole viewer for ``config`` (a viewer TOML file) as one Panel layout: the sidebar beside the main area.

    ``height`` (pixels, at least 400) bounds the output cell. A config whose data set must first be
    generated is refused: run ``vizcache generate`` (or the served viewer once) first.
    """
    if not 400 <= height <= 10_000:
        raise ValueError(f"height={height!r}: give the cell's height in pixels, 400 to 10,000")
    runtime = _runtime(config)
    if runtime.needs_generation():
        raise RuntimeError(f"the data set of {runtime.config.generate!r} is not generated yet: run "
                           f"`vizcache generate --preset {runtime.config.generate}` first")
    _extension()
    sidebar = pn.Column(width=330)
    main = pn.Column(sizing_mode="stretch_width")
    build_viewer(runtime, sidebar, main)
    return pn.Row(sidebar, main, sizing_mode="stretch_width", min_height=height)


def sky_map(config: str | Path | None = None, **params) -> SkyMap:
    """The sky map of ``config`` with its table and histograms (a Panel viewable); ``params`` are SkyMap's (``catalog``, ``color_by``, ...)."""
    runtime = _runtime(config)
    _extension()
    return SkyMap(runtime=runtime, notify=lambda message: log.error("%s", message), **params)
