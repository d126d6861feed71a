"""The notebook entry point: a small notebook executed by nbclient shows the viewer and the sky map as Panel objects."""

import json

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import make_config

CELLS = [
    "from vizcache.viewer.notebook import sky_map, viewer",
    "app = viewer(config={config!r})\napp",
    "sky = sky_map(config={config!r}, catalog='AMICO')\nsky",
    "rows = sky.table.listed()\nprint(sky.shown, len(rows), list(rows.columns[:3]))",
    "try:\n    viewer(config='no-such.toml')\nexcept FileNotFoundError as exc:\n    print(exc)",
]


def outputs_of(cell) -> dict:
    """Every mimetype the cell displayed or printed, joined as text."""
    out: dict[str, str] = {}
    for output in cell.outputs:
        if output.output_type == "stream":
            out["stream"] = out.get("stream", "") + output.text
        for mimetype, value in output.get("data", {}).items():
            out[mimetype] = out.get(mimetype, "") + (value if isinstance(value, str) else json.dumps(value))
    return out


@pytest.fixture(scope="module")
def executed(viewer_data):
    config = make_config(viewer_data, "notebook.toml")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.format(config=str(config))) for c in CELLS])
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(viewer_data)}}).execute()
    return [outputs_of(cell) for cell in notebook.cells]


def test_the_viewer_is_a_panel_object_in_the_notebook(executed):
    shown = executed[1]
    assert "application/vnd.holoviews_exec.v0+json" in shown  # Panel's own mimebundle: the live, linked view
    assert shown["text/plain"].startswith("Row(min_height=900")
    assert "Find a name" in shown["text/plain"] and "Param(SkyMap" in shown["text/plain"]  # the sidebar: find box, the map's controls
    assert "Tabs(" in shown["text/plain"] and "ParamFunction(function" in shown["text/plain"]  # the finder comparison's lazy tab


def test_the_sky_map_alone_with_its_rows(executed):
    assert "application/vnd.holoviews_exec.v0+json" in executed[2] and executed[2]["text/plain"].startswith("SkyMap(")
    name, count, *columns = executed[3]["stream"].split(" ", 2)
    assert name == "AMICO" and int(count) > 1000 and columns == ["['id', 'ra', 'dec']\n"]


def test_a_missing_config_is_one_clear_line(executed):
    assert executed[4]["stream"] == ("vizcache config no-such.toml: no such file (give config= the path of a viewer TOML file)\n")
