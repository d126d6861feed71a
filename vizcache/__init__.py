"""vizcache: a memory-aware cache with pluggable, param-declared policies.

The core (cache, policies, memory probes, events) imports only the standard library, param,
psutil and numpy; the config reader (which knows the catalog readers, and so pandas) is
imported the first time one of its names is used.
"""

from .cache import Cache, Entry, Invalidation, RecursiveLoadError, Sized
from .cache_stats import CacheStats
from .memoize import cached, cached_functions_stats
from .policies import AgeBased, CachePolicy, Eviction, LegacyRSSManager, RSSThresholdLRU, SizeEstimatedLRU, available_policies
from .trace import TraceRecorder, export_libcachesim_csv, read_trace

__all__ = [
    "AgeBased", "Cache", "CachePolicy", "CacheStats", "ConfigError", "Entry", "Eviction", "Invalidation", "LegacyRSSManager",
    "RSSThresholdLRU", "RecursiveLoadError", "SizeEstimatedLRU", "Sized", "TraceRecorder", "available_policies",
    "cached", "cached_functions_stats", "export_libcachesim_csv", "policy_from_config", "read_trace",
]
__version__ = "0.1.0"

_LAZY = {"ConfigError": "config", "policy_from_config": "config"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'vizcache' has no attribute {name!r}")
