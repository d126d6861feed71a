"""vizcache: a memory-aware cache with pluggable, param-declared policies."""

from .cache import Cache, Entry, Eviction
from .config import ConfigError, policy_from_config
from .events import TraceRecorder, export_libcachesim_csv, read_trace
from .policies import AgeBased, CachePolicy, RSSThresholdLRU, SizeEstimatedLRU, available_policies

__all__ = [
    "AgeBased", "Cache", "CachePolicy", "ConfigError", "Entry", "Eviction", "RSSThresholdLRU",
    "SizeEstimatedLRU", "TraceRecorder", "available_policies", "export_libcachesim_csv",
    "policy_from_config", "read_trace",
]
__version__ = "0.1.0"
