"""Typed ranges: low and high number inputs beside a range slider, editing the same range of the map.

A typed value outside the parameter's bounds (or a low above the high, or an empty box) is named in one
line with the allowed interval; the inputs go back to the range in force and nothing else changes.
"""

from __future__ import annotations

import math

import panel as pn
import param


def range_problem(label: str, low, high, bounds: tuple[float, float]) -> str | None:
    """Why (low, high) cannot be ``label``'s range, in one line naming the field and the allowed interval; None if it can."""
    lo, hi = bounds
    allowed = f"allowed: {lo:g} to {hi:g}"
    for field, value in (("low", low), ("high", high)):
        if value is None or not math.isfinite(value):
            return f"{label} {field}: a number is needed; {allowed}"
        if not lo <= value <= hi:
            return f"{label} {field}: {value:g} is outside the allowed interval; {allowed}"
    if low > high:
        return f"{label}: low {low:g} is above high {high:g}; {allowed}, low <= high"
    return None


class TypedRange(pn.viewable.Viewer):
    """Two number inputs for one ``param.Range`` of ``model``: typing applies the range, the slider's moves show here.

    >>> TypedRange(model=skymap, parameter="snr_range", notify=print)
    """

    model = param.ClassSelector(class_=param.Parameterized, constant=True, doc="The object whose range parameter is edited.")
    parameter = param.String(default="snr_range", constant=True, doc="Name of the model's param.Range edited here.")

    def __init__(self, notify, **params) -> None:
        super().__init__(**params)
        self._notify = notify
        self._label = self.model.param[self.parameter].label
        low, high = getattr(self.model, self.parameter)
        # No start/end on the inputs: the browser would clamp silently; the server checks and says why instead.
        self.low = pn.widgets.FloatInput(label=f"{self._label} low", value=low, width=120, margin=(0, 5))
        self.high = pn.widgets.FloatInput(label=f"{self._label} high", value=high, width=120, margin=(0, 5))
        self._syncing = False
        self.low.param.watch(self._typed, "value")
        self.high.param.watch(self._typed, "value")
        self.model.param.watch(self._show, self.parameter)

    def _typed(self, _event) -> None:
        if self._syncing:
            return
        low, high = self.low.value, self.high.value
        problem = range_problem(self._label, low, high, self.model.param[self.parameter].bounds)
        if problem is None:
            setattr(self.model, self.parameter, (float(low), float(high)))
        else:
            self._notify(problem)
            self._show()  # back to the range in force

    def _show(self, *_events) -> None:
        self._syncing = True
        try:
            self.low.value, self.high.value = getattr(self.model, self.parameter)
        finally:
            self._syncing = False

    def __panel__(self):
        return pn.Row(self.low, self.high, sizing_mode="stretch_width")
