"""The view in the URL: filters, colouring, projection and view box, so a view can be shared.

The catalog is already there (``?catalog=``, checked against the config by the page). Every other
value read from a URL is parsed and checked here; a bad one is named in a notification and
ignored, never applied. Values are matched by pattern, never handed to a general parser: a
``?snr=`` nested 5,000 lists deep would exhaust ``json.loads``'s recursion and blank the page.
The view the viewer writes is checked by the same rules it is read with, with every digit a
float needs, so a link it wrote always opens again.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import numpy as np
import panel as pn
import param

from .expression import MAX_CHARS, Expression, ExpressionError
from .find import shown

#: query key -> SkyMap parameter
PARAMS = {"snr": "snr_range", "z": "z_range", "color": "color_by", "projection": "projection", "keep_unknown_z": "keep_unknown_z",
          "where": "where"}
#: characters of a query value read at most (the longest the viewer writes is ~90)
MAX_VALUE_CHARS = 200
#: a view may be at most this many times the map's extent wide or high (a zoom out beyond the whole sky)
MAX_VIEW_EXTENTS = 10.0
_NUMBER = r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*"  # unambiguous: no backtracking blow-up
_RANGE = re.compile(rf"\[{_NUMBER},{_NUMBER}\]")
_VIEW = re.compile(",".join([_NUMBER] * 4))


def _allowed(parameter: param.Parameter) -> str:
    if isinstance(parameter, param.Range):
        return "use [low,high] with {:g} <= low <= high <= {:g}".format(*parameter.bounds)
    if isinstance(parameter, param.Boolean):
        return "use true or false"
    if isinstance(parameter, param.String):
        return f"use a condition over the catalog's columns (at most {MAX_CHARS} characters) such as snr > 6 & z < 0.5"
    return "use one of " + ", ".join(map(str, parameter.objects))


def _value(parameter: param.Parameter, text: str):
    """The parameter's value written as ``text``, None when it is not an allowed one."""
    if isinstance(parameter, param.Range):
        match = _RANGE.fullmatch(text)
        value = (float(match[1]), float(match[2])) if match else None
        low, high = parameter.bounds
        return value if value is not None and low <= value[0] <= value[1] <= high else None  # NaN fails every comparison
    if isinstance(parameter, param.Boolean):
        return {"true": True, "false": False}.get(text)
    if isinstance(parameter, param.String):  # a condition: parsed (never evaluated) here, its columns checked by the map
        try:
            return Expression.parse(text).text if text.strip() else ""
        except ExpressionError:
            return None
    return text if text in parameter.objects else None


def parse_view(text: str, projection: str, extents) -> tuple[tuple[float, float], tuple[float, float]]:
    """(x as drawn, y low to high) from ``x0,x1,y0,y1``; ValueError naming what is allowed.

    The box must show part of the map's extent and be at most MAX_VIEW_EXTENTS times its size.
    """
    (ex0, ex1), (ey0, ey1) = extents
    allowed = (f"use x0,x1,y0,y1 (the map's axes): four numbers, x0 != x1 and y0 != y1, a box that shows part of "
               f"x {ex0:g} to {ex1:g}, y {ey0:g} to {ey1:g} and is at most {MAX_VIEW_EXTENTS:g} times as wide and high")
    match = _VIEW.fullmatch(text) if len(text) <= MAX_VALUE_CHARS else None
    if match is None:
        raise ValueError(allowed)
    x0, x1, y0, y1 = (float(v) for v in match.groups())
    (left, right), (bottom, top) = sorted((x0, x1)), sorted((y0, y1))
    with np.errstate(over="ignore"):  # ±1e308 apart is an infinite width: refused below
        widths = np.array([right - left, top - bottom])
    spans = np.array([ex1 - ex0, ey1 - ey0])
    if not (np.isfinite(widths).all() and (widths > 0).all() and (widths <= MAX_VIEW_EXTENTS * spans).all()
            and left < ex1 and right > ex0 and bottom < ey1 and top > ey0):
        raise ValueError(allowed)
    # As drawn: RA grows to the left in RA/Dec, x to the right in all-sky (a reversed link is put right).
    return ((right, left) if projection == "RA/Dec" else (left, right)), (bottom, top)


def view_text(x_range, y_range, projection: str, extents) -> str | None:
    """``view=`` for sorted ranges, with every digit a float needs and no more; None when parse_view would refuse it."""
    first = x_range[::-1] if projection == "RA/Dec" else x_range  # as drawn: RA grows to the left
    text = ",".join(repr(float(v)).removesuffix(".0") for v in (*first, *y_range))  # shortest exact: 180, 150.000000002
    try:
        parse_view(text, projection, extents)
    except ValueError:  # panned off the sky, zoomed out beyond MAX_VIEW_EXTENTS: no view in the link
        return None
    return text


def restore(skymap, args: dict, notify) -> None:
    """Apply the URL's values to the map; a value that does not fit is named and left out."""
    values = {}
    for key, name in PARAMS.items():
        if key in args:
            text = args[key][0].decode("utf-8", "replace")
            parameter = skymap.param[name]
            longest = MAX_CHARS if isinstance(parameter, param.String) else MAX_VALUE_CHARS
            value = _value(parameter, text) if len(text) <= longest else None  # no regex over a 10 kB value
            if value is None:
                notify(f"Ignored {key}={shown(text)} in the URL for {parameter.label}: {_allowed(parameter)}")
            else:
                values[name] = value
    skymap.param.update(**values)
    if "view" in args:
        text = args["view"][0].decode("utf-8", "replace")
        try:
            ranges = parse_view(text, skymap.projection, skymap.extents())
        except ValueError as exc:
            notify(f"Ignored view={shown(text)} in the URL: {exc}")
        else:
            pn.state.onload(lambda: skymap.move_to(*ranges))


def follow(skymap) -> None:
    """Keep the URL's query in step with the map (replaces the history entry: no back-button noise)."""
    def params(*_events) -> None:
        if pn.state.location is not None:
            pn.state.location.update_query(**{key: _encode(getattr(skymap, name)) for key, name in PARAMS.items()})

    def view(*_events) -> None:
        ranges, location = skymap.view_ranges, pn.state.location
        if location is None or ranges is None:
            return  # the plot sends NaN before its first layout: the link keeps what it has
        text = view_text(*ranges, skymap.projection, skymap.extents())
        query = {key: value for key, value in location.query_params.items() if key != "view"}
        location.search = "?" + urlencode(query if text is None else {**query, "view": text})

    skymap.param.watch(params, list(PARAMS.values()))
    skymap.ranges.param.watch(view, ["x_range", "y_range"])  # a Dask catalog has no rows in view, but its view is shared too


def _encode(value) -> str:
    if isinstance(value, tuple):
        return json.dumps([round(float(v), 6) for v in value])  # rounding keeps low <= high and the bounds
    return json.dumps(value) if isinstance(value, bool) else str(value)
