"""A fix for Bokeh's model sync, installed once per server process (``serve_page``).

Bokeh 3.9's ``Document.apply_json_patch`` (bokeh/document/document.py, the ``flush_synced`` after the
events are applied) marks every model that was in the document when a client's PATCH-DOC arrived as
known to the client. A model attached while the document is on hold has not been sent yet: its event
is held. Panel's ``hold()`` entered on a thread (a ``defer_load`` part built on the thread pool,
``nthreads``) keeps the document held until a later tick, so a browser's patch (a click, a wheel
zoom, a range change) can land in between; the held event then goes out with the new model as a bare
reference, which no client can resolve (BokehJS: "reference pNNNN isn't known", the patch is dropped,
so the deferred part never appears). Here a client's patch marks as synced only the models it
defined itself, as Bokeh intends; models not yet sent stay new and go out whole.
"""

from __future__ import annotations

import logging

import bokeh.document.document as _document
from bokeh.core.serialization import Deserializer

log = logging.getLogger(__name__)


class _PatchDeserializer(Deserializer):
    """``has_ref`` is what Bokeh's flush after a client's patch asks: "did this patch define it?"."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._known_before = set(self._references)

    def has_ref(self, obj) -> bool:
        return super().has_ref(obj) and obj.id not in self._known_before


def install() -> bool:
    """Idempotent; whether the fix is in place. The name ``Deserializer`` in bokeh.document.document
    is only used by ``apply_json_patch`` (with the document's models) and ``from_json`` (with none,
    so unchanged). A Bokeh without that name is left alone, with a warning: pages still work, with
    Bokeh's own sync. (``tests/viewer/test_patch_references.py`` shows whether the fix works.)"""
    current = getattr(_document, "Deserializer", None)
    if not (isinstance(current, type) and issubclass(current, Deserializer)):
        log.warning("bokeh.document.document has no Deserializer to extend: Bokeh's model sync is used as it is")
        return False
    if not issubclass(current, _PatchDeserializer):
        _document.Deserializer = _PatchDeserializer
    return True
