"""The view in the URL: filters, colouring, projection and view box, so a view can be shared.

The catalog is already there (``?catalog=``, checked against the config by the page). Every other
value read from a URL is parsed and checked here; a bad one is named in a notification and
ignored, never applied.
"""

from __future__ import annotations

import json

import numpy as np
import panel as pn


#: query key -> SkyMap parameter
PARAMS = {"snr": "snr_range", "z": "z_range", "color": "color_by", "projection": "projection", "keep_unknown_z": "keep_unknown_z"}


def _decode(skymap, name: str, text: str):
    value = json.loads(text) if name != "color_by" and name != "projection" else text
    if isinstance(value, list):
        value = tuple(float(v) for v in value)
    skymap.param[name]._validate(value)
    return value


def _view(text: str) -> tuple[tuple[float, float], tuple[float, float]]:
    x0, x1, y0, y1 = (float(v) for v in text.split(","))
    if not all(np.isfinite([x0, x1, y0, y1])) or x0 == x1 or y0 == y1:
        raise ValueError("four distinct finite numbers")
    return (x0, x1), (y0, y1)


def restore(skymap, args: dict, notify) -> None:
    """Apply the URL's values to the map; a value that does not fit is named and left out."""
    values = {}
    for key, name in PARAMS.items():
        if key in args:
            text = args[key][0].decode("utf-8", "replace")
            try:
                values[name] = _decode(skymap, name, text)
            except (ValueError, TypeError):
                notify(f"Ignored {key}={text!r} in the URL: not an allowed value for {skymap.param[name].label}")
    skymap.param.update(**values)
    if "view" in args:
        text = args["view"][0].decode("utf-8", "replace")
        try:
            ranges = _view(text)
        except ValueError:
            notify(f"Ignored view={text!r} in the URL: use x0,x1,y0,y1 (the map's axes)")
        else:
            pn.state.onload(lambda: skymap.move_to(*ranges))


def follow(skymap) -> None:
    """Keep the URL's query in step with the map (replaces the history entry: no back-button noise)."""
    def params(*_events) -> None:
        if pn.state.location is not None:
            pn.state.location.update_query(**{key: _encode(getattr(skymap, name)) for key, name in PARAMS.items()})

    def view(*_events) -> None:
        x, y = skymap._range.x_range, skymap._range.y_range
        if pn.state.location is not None and x is not None and y is not None and np.isfinite([*x, *y]).all():
            first = x[::-1] if skymap.projection == "RA/Dec" else x  # as drawn: RA grows to the left
            pn.state.location.update_query(view=",".join(f"{v:.6g}" for v in (*first, *y)))

    skymap.param.watch(params, list(PARAMS.values()))
    skymap.param.watch(view, "view_version")


def _encode(value) -> str:
    if isinstance(value, tuple):
        return json.dumps([round(float(v), 6) for v in value])
    return json.dumps(value) if isinstance(value, bool) else str(value)
