"""vizcache: a memory-aware cache with pluggable, param-declared policies.

The core (cache, policies and their ``[policy]`` reader, memory probes, events, traces) imports
only the standard library, param, psutil and numpy; the catalogs and the apps are imported
from their own packages.
"""

from .cache import Cache, Entry, Invalidation, RecursiveLoadError, Sized
from .cache_stats import CacheStats
from .config_file import ConfigError
from .memoize import cached, cached_functions_stats
from .policies import AgeBased, CachePolicy, Eviction, LegacyRSSManager, RSSThresholdLRU, SizeEstimatedLRU, available_policies
from .policies.config import policy_from_config
from .trace import TraceRecorder, export_libcachesim_csv, read_trace

__all__ = [
    "AgeBased", "Cache", "CachePolicy", "CacheStats", "ConfigError", "Entry", "Eviction", "Invalidation", "LegacyRSSManager",
    "RSSThresholdLRU", "RecursiveLoadError", "SizeEstimatedLRU", "Sized", "TraceRecorder", "available_policies",
    "cached", "cached_functions_stats", "export_libcachesim_csv", "policy_from_config", "read_trace",
]
__version__ = "0.1.0"
