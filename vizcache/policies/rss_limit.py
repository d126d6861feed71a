"""RSSLimit: the memory bound the RSS-driven policies share — a limit, and water marks on it."""

from __future__ import annotations

import param

from ..memory import AUTO_FRACTION, ENV_PROCESSES, auto_memory_limit
from ..units import parse_bytes
from .base import ByteSize, CachePolicy


class RSSLimit(CachePolicy):
    """A process RSS ``limit`` and two water marks, as fractions of it, resolved to bytes.

    Subclasses decide what the marks mean for eviction; this class only keeps ``limit_bytes``,
    ``high_bytes`` and ``low_bytes`` in step with the parameters and refuses marks that cross.
    """

    limit = ByteSize(
        "auto", allow_auto=True, bounds=(2**20, 2**50),
        doc='RSS the process must stay under: bytes, a size string ("1.5GiB", "800MB"), or "auto": auto_fraction of the '
            f"tightest of physical RAM, the cgroup memory limit and RLIMIT_RSS, divided by the server processes sharing it "
            f"(${ENV_PROCESSES}, which `vizcache serve --num-procs N` sets).",
    )
    high_water = param.Number(
        0.8, bounds=(0.05, 1.0),
        doc="Fraction of limit above which the policy evicts (see the policy for the details).",
    )
    low_water = param.Number(
        0.7, bounds=(0.0, 0.99),
        doc="Fraction of limit that eviction brings RSS down to; below high_water, so the cache does not thrash.",
    )
    auto_fraction = param.Number(
        AUTO_FRACTION, bounds=(0.05, 0.95),
        doc='Fraction of the tightest memory bound (RAM, cgroup limit, RLIMIT_RSS) that limit="auto" shares among the server '
            "processes; the rest is room for a load's peak above the limit.",
    )

    def _resolve(self) -> None:
        super()._resolve()
        if self.low_water >= self.high_water:
            raise ValueError(f"low_water ({self.low_water}) must be below high_water ({self.high_water})")
        if self.limit == "auto":
            self.limit_bytes, self.limit_source = auto_memory_limit(self.auto_fraction)
        else:
            self.limit_bytes, self.limit_source = parse_bytes(self.limit), "configured"
        self.high_bytes = int(self.limit_bytes * self.high_water)
        self.low_bytes = int(self.limit_bytes * self.low_water)

    def policy_stats(self, cache) -> dict:
        return {
            "limit_bytes": self.limit_bytes,
            "limit_source": self.limit_source,
            "high_water_bytes": self.high_bytes,
            "low_water_bytes": self.low_bytes,
        }
