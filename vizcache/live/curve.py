"""A live miss-ratio curve: one policy's hit ratio against budget, from SHARDS spatial sampling of the requests.

The curve is a row of shadows of one policy at budgets from 5 % to 200 % of the cache's, fed only the
requests for keys that :class:`vizcache.compare.shards.Sampler` samples, each with its budget scaled
by the sampling rate (a miniature cache, Waldspurger et al., FAST'15). At rate 1 every request is
fed and the curve is exact; at rate R each point costs about R of a shadow per request. The sample
is the same keys in every process and in ``vizcache simulate --sample``.
"""

from __future__ import annotations

from ..compare.shards import Sampler
from .shadows import Shadow, shadow_specs

#: budgets of the curve, as fractions of the cache's
FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


class Curve:
    """Shadows of ``policy`` at ``fractions`` of ``budget``, fed a key-hash sample at ``rate``."""

    label = "curve"

    def __init__(self, budget: int, estimates: dict, *, policy: str = "rss-lru", rate: float = 1.0,
                 fractions=FRACTIONS, window_s: float = 60.0) -> None:
        specs = shadow_specs()
        if policy not in specs:
            raise ValueError(f"curve policy {policy!r}: give one of {', '.join(specs)}")
        self.sampler, self.policy, self.budget = Sampler(rate), policy, budget
        self.points = [(f, Shadow(policy, *specs[policy], self.sampler.scaled_budget(max(1, int(f * budget))), estimates, window_s, 1))
                       for f in fractions]
        self._sampled: dict = {}  # key -> in the sample (hashing a key costs more than a shadow's hit)
        self.failed = False

    def feed(self, key, sizes: dict, now: float) -> None:
        chosen = self._sampled.get(key)
        if chosen is None:
            chosen = self._sampled[key] = self.sampler(key)
        if chosen:
            for _, shadow in self.points:
                shadow.feed(key, sizes, now)

    def snapshot(self) -> dict:
        """``{"policy", "rate", "budgets", "fractions", "hit_ratio", "requests"}``; a point's hit ratio is None before its first request."""
        return {"policy": self.policy, "rate": self.sampler.rate, "fractions": [f for f, _ in self.points],
                "budgets": [max(1, int(f * self.budget)) for f, _ in self.points],
                "hit_ratio": [s.hit_ratio for _, s in self.points], "requests": self.points[0][1].requests if self.points else 0}
