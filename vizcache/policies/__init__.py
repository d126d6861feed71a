"""Policy classes and their registry (the entry-point group ``vizcache.policies``)."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from .age import AgeBased
from .base import ByteSize, CachePolicy
from .contract import CacheView, EntryView, Eviction
from .legacy_rss import LegacyRSSManager
from .rss_lru import RSSThresholdLRU
from .size_estimated import SizeEstimatedLRU

ENTRY_POINT_GROUP = "vizcache.policies"
log = logging.getLogger(__name__)

__all__ = ["AgeBased", "ByteSize", "CachePolicy", "CacheView", "EntryView", "Eviction", "LegacyRSSManager", "RSSThresholdLRU",
           "SizeEstimatedLRU", "available_policies", "ENTRY_POINT_GROUP"]


def available_policies() -> dict[str, type[CachePolicy]]:
    """Every policy registered under ``vizcache.policies``, built-ins included, by name.

    A plugin that fails to import is logged and left out rather than breaking the others.
    """
    found: dict[str, type[CachePolicy]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken third-party package must not take ours down
            log.warning("policy %r from %s could not be loaded: %s", ep.name, ep.value, exc)
            continue
        if isinstance(cls, type) and issubclass(cls, CachePolicy):
            found.setdefault(ep.name, cls)
        else:
            log.warning("entry point %r (%s) is not a CachePolicy subclass; ignored", ep.name, ep.value)
    return dict(sorted(found.items()))
