"""The view in the URL: catalog, filters, colouring, projection, view box, coverage outline, selection and
tab, so a view can be shared.

The catalog is read by the page (``?catalog=``, checked against the config). Every other
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
from .markers import MARKER_LIMIT

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
#: clusters a link's selection names at most: a selection is made on the map's markers, at most MARKER_LIMIT
MAX_SELECTED = MARKER_LIMIT
_IDS = re.compile(r"-?\d{1,20}(?:,-?\d{1,20})*")


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
    ranges = None
    if "view" in args:
        text = args["view"][0].decode("utf-8", "replace")
        try:
            ranges = parse_view(text, skymap.projection, skymap.extents())
        except ValueError as exc:
            notify(f"Ignored view={shown(text)} in the URL: {exc}")
    selection = _selection(args, notify)

    def opened() -> None:  # the selection waits for the link's view (a view change clears a selection)
        if selection is not None:
            skymap.map.select_ids(selection, None if ranges is None else tuple(tuple(sorted(r)) for r in ranges))
        if ranges is not None:
            skymap.move_to(*ranges)

    if ranges is not None or selection is not None:
        pn.state.onload(opened)
    _restore_coverage(skymap, args, notify)


def _restore_coverage(skymap, args: dict, notify) -> None:
    if "coverage" in args:
        text = args["coverage"][0].decode("utf-8", "replace")
        value = {"true": True, "false": False}.get(text)
        if value is None:
            notify(f"Ignored coverage={shown(text)} in the URL for the coverage outline: use true or false")
        else:
            skymap.map.coverage.toggle.value = value


def _selection(args: dict, notify) -> list[int] | None:
    """``select=id,id,…``: the ids of the clusters selected; None when absent or not allowed (named)."""
    if "select" not in args:
        return None
    text = args["select"][0].decode("utf-8", "replace")
    match = _IDS.fullmatch(text) if len(text) <= MAX_SELECTED * 22 else None  # no regex over a longer value
    ids = [int(v) for v in text.split(",")] if match else []
    if not match or len(ids) > MAX_SELECTED or not all(-(2**63) <= i < 2**64 for i in ids):
        notify(f"Ignored select={shown(text)} in the URL: use at most {MAX_SELECTED} cluster ids (64-bit integers) separated by commas")
        return None
    return ids


def selected_ids(skymap) -> str | None:
    """``select=`` for the map's selection: its clusters' ids, when they name exactly those rows (a catalog
    with an id per cluster; a members catalog's rows have none)."""
    rows, view = skymap.selection, skymap.view
    if rows is None or view is None or "id" not in view[0].columns or len(rows) > MAX_SELECTED:
        return None
    frame, mask = view
    ids = frame["id"].iloc[rows]
    in_view = frame["id"] if mask is None else frame["id"][mask]
    if ids.isna().any() or int(in_view.isin(ids).sum()) != len(rows):
        return None  # an id missing, or shared with another row in view: the link would select other rows
    return ",".join(sorted(str(int(i)) for i in ids))


def restore_tab(tabs, args: dict, notify) -> None:
    """Open the tab the URL names (``?tab=Finder comparison``); another name is named and ignored."""
    if "tab" not in args:
        return
    text, names = args["tab"][0].decode("utf-8", "replace"), list(tabs._names)
    if text in names:
        tabs.active = names.index(text)
    else:
        notify(f"Ignored tab={shown(text)} in the URL: use one of {', '.join(names)}")


def query(skymap, tabs=None) -> dict[str, str]:
    """The whole link for what the page shows now, made from the map's state each time (never from the
    link it replaces, whose values Panel's parser would turn into Python's: ``false`` back as ``False``)."""
    values = {"catalog": skymap.shown} if skymap.shown else {}
    values.update({key: _encode(getattr(skymap, name)) for key, name in PARAMS.items()})
    ranges = skymap.view_ranges  # None before the plot's first layout and after a projection's change (whole sky)
    text = None if ranges is None else view_text(*ranges, skymap.projection, skymap.extents())
    if text is not None:  # None: panned off the sky, zoomed out beyond MAX_VIEW_EXTENTS
        values["view"] = text
    if skymap.map.coverage.toggle.value:
        values["coverage"] = "true"
    selection = selected_ids(skymap)
    if selection:
        values["select"] = selection
    if tabs is not None and tabs.active:
        values["tab"] = tabs._names[tabs.active]
    return values


#: the browser writes the link itself (no reload, no history entry) when the server changes it
_REPLACE_URL = "window.history.replaceState(window.history.state, '', window.location.pathname + source.value_input + window.location.hash)"


def follow(skymap, tabs=None) -> pn.widgets.TextInput:
    """Keep the URL in step with the page: rewritten whole after every change that settles — a catalog shown,
    a filter, a view, the coverage outline, a selection, a tab — so it is never behind. Returns the hidden model carrying it, for the page to hold.

    Not through Panel's Location: it holds back a change until the document is idle, and in a busy page the
    link went out one change late (after a typed filter, the filter before it).
    """
    carrier = pn.widgets.TextInput(value="", visible=False)
    carrier.jscallback(value_input=_REPLACE_URL)
    # This session's, taken now: a watcher runs on one of Panel's threads, where pn.state may name another session,
    # and a change made there went out with the next one; on the server's loop, holding the document, it goes at once.
    location, doc = pn.state.location, pn.state.curdoc
    served = doc is not None and doc.session_context is not None

    def send() -> None:  # the state when it runs: the newest, whatever order changes arrived in
        text = "?" + urlencode(query(skymap, tabs))
        carrier.value_input = text
        if location is not None:
            with param.discard_events(location):  # the server's copy, for code that reads it; the browser has it
                location.search = text

    def write(*_events) -> None:
        doc.add_next_tick_callback(send) if served else send()

    skymap.param.watch(write, [*PARAMS.values(), "frame", "selection"])  # frame: a catalog switch has succeeded
    skymap.map.coverage.toggle.param.watch(write, "value")
    skymap.ranges.param.watch(write, ["x_range", "y_range"])  # a Dask catalog has no rows in view, but its view is shared too
    if tabs is not None:
        tabs.param.watch(write, "active")
    return carrier


def _encode(value) -> str:
    if isinstance(value, tuple):
        return json.dumps([float(v) for v in value])  # every digit: a typed 5.0000001 opens as 5.0000001
    return json.dumps(value) if isinstance(value, bool) else str(value)
