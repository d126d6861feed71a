"""Work a page's periodic callback does on Panel's thread pool, and the page ending meanwhile."""

from __future__ import annotations

from collections.abc import Callable

import panel as pn


def served_document():
    """The current document if it belongs to a served page (a Bokeh session), else None: in a
    notebook or a test a page has no session to end."""
    doc = pn.state.curdoc
    return doc if doc is not None and doc.session_context is not None else None


def page_ended(doc) -> bool:
    """Whether the served page of ``doc`` (from ``served_document``) has ended. When a session ends,
    Bokeh unsets its document's session context first, then takes the values of its models away
    (``Document.destroy``); Panel cleans up after that. So this is true while models are taken apart."""
    return doc is not None and doc.session_context is None


def refresh_page(doc, refresh: Callable[[], None]) -> None:
    """Run ``refresh`` (which updates the page's widgets) unless the page has ended.

    A refresh on a pool thread can still be running when its session ends; its widget updates then
    reach models being taken apart (a Tabulator's source already unset) and raise. Those errors
    belong to no one: the page is gone. An error while the page is open is raised as ever."""
    if page_ended(doc):
        return
    try:
        refresh()
    except Exception:
        if not page_ended(doc):
            raise
