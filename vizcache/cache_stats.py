"""CacheStats: one typed snapshot of what a cache did and holds.

Fields are documented here once. The policy's own figures (limits, budgets) live in
``policy_stats``, so a plugin cannot overwrite a cache figure. For code written against the
older dict, a snapshot also reads like a mapping: ``stats["hits"]``, and a policy figure such
as ``stats["limit_bytes"]`` when no field has that name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .events import Counters


@dataclass
class CacheStats(Counters, Mapping):
    """The counters (see :class:`~vizcache.events.Counters`) and, besides them:

    * ``policy``: the policy's class name; ``params``: its parameter values.
    * ``requests`` = hits + misses; ``hit_ratio`` = hits / requests (0 with no requests).
    * ``entries``: live entries; ``managed_bytes``: the sum of their best-known sizes (loader
      report, else the RSS delta around the load); ``rss``: process RSS now, read with
      ``rss_method``; ``unmanaged_bytes`` = rss − managed_bytes (libraries, sessions, leaks).
    * ``overhead_seconds``: probe + sizing + reclaim time, the policy's cost. Dropping evicted
      values (``release_seconds``, the allocator and kernel taking their memory back) is apart:
      every cache pays it for the bytes it lets go, whatever its policy.
    * ``warnings_total`` and the newest ``warnings``; ``trace_rows_lost``: trace rows dropped
      because the disk refused them for too long.
    * ``policy_stats``: the policy's own figures, by name.
    * ``functions``: for a cache ``@vizcache.cached`` functions use, each function's calls, hits,
      misses, disk hits, live entries and bytes (see :func:`vizcache.cached_functions_stats`).
    """

    policy: str = ""
    params: dict = field(default_factory=dict)
    requests: int = 0
    hit_ratio: float = 0.0
    entries: int = 0
    managed_bytes: int = 0
    unmanaged_bytes: int = 0
    rss: int = 0
    rss_method: str = ""
    overhead_seconds: float = 0.0
    warnings_total: int = 0
    warnings: list = field(default_factory=list)
    trace_rows_lost: int = 0
    policy_stats: dict = field(default_factory=dict)
    functions: list = field(default_factory=list)

    def _names(self) -> list[str]:
        own = [f.name for f in fields(self) if f.name != "policy_stats"]
        return own + [k for k in self.policy_stats if k not in own]

    def __getitem__(self, name: str) -> Any:
        if name != "policy_stats" and name in {f.name for f in fields(self)}:
            return getattr(self, name)
        return self.policy_stats[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())
