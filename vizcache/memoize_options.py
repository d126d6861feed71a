"""What ``vizcache.cached``'s arguments mean: ``pn.cache``'s (``max_items``, ``policy`` by name,
``ttl``) and vizcache's (a memory ``limit`` or ``budget``, a policy object, a TOML config), turned
into the one policy the function's cache runs, with one clear error for what does not fit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .memoize_policy import CountBounded, CountBoundedBudget, CountBoundedRSS
from .policies import CachePolicy, RSSThresholdLRU

#: The names ``pn.cache`` takes for ``policy`` (any case): orders of the count bound.
PN_POLICIES = {"lru": "LRU", "lfu": "LFU", "fifo": "FIFO"}
AUTO = "auto"


def _is_config_path(policy: Any) -> bool:
    return isinstance(policy, Path) or (isinstance(policy, str) and policy.lower() not in PN_POLICIES)


def build_policy(policy: Any, *, max_items: Any, ttl: Any, limit: Any, budget: Any) -> tuple[CachePolicy, tuple]:
    """The policy for these arguments, and what identifies it when an app script runs again."""
    if isinstance(policy, CachePolicy) or _is_config_path(policy):
        given = [f"{name}={value!r}" for name, value in
                 (("max_items", max_items), ("ttl", ttl), ("budget", budget)) if value is not None]
        given += [f"limit={limit!r}"] if limit != AUTO else []
        if given:
            raise TypeError(f"cached(policy={policy!r}) takes its bounds from that policy: set {', '.join(given)} "
                            "on the policy (max_items is max_entries, ttl is max_age) instead")
        if isinstance(policy, CachePolicy):
            return policy, (type(policy).__qualname__, repr(sorted(policy.settings().items())))
        if isinstance(policy, str) and not policy.endswith(".toml"):
            raise ValueError(f"cached(policy={policy!r}) is not allowed: use 'LRU', 'LFU' or 'FIFO' (as pn.cache), "
                             "a vizcache policy object, or the path of a .toml config")
        from .policies.config import policy_from_config

        path = str(Path(policy).resolve())
        return policy_from_config(policy), ("path", path)
    if not isinstance(policy, str):
        raise TypeError(f"cached(policy={policy!r}) is not allowed: use 'LRU', 'LFU' or 'FIFO' (as pn.cache), "
                        "a vizcache policy object, or the path of a .toml config")
    eviction = PN_POLICIES[policy.lower()]
    if isinstance(max_items, bool) or (max_items is not None and not isinstance(max_items, int)):
        raise TypeError(f"cached(max_items={max_items!r}) is not allowed: use a whole number ≥ 1, or None")
    if isinstance(ttl, bool) or (ttl is not None and not isinstance(ttl, (int, float))):
        raise TypeError(f"cached(ttl={ttl!r}) is not allowed: use seconds (a number > 0), or None")
    if budget is not None and limit not in (AUTO, None):
        raise TypeError("give cached() a memory limit (RSS) or a budget (estimated bytes), not both")
    settings = {"max_age": None if ttl is None else float(ttl)}
    try:
        if budget is not None:
            made = CountBoundedBudget(budget=budget, estimator="deep", max_items=max_items, eviction=eviction,
                                      **settings)
        elif limit is None:
            made = CountBounded(max_items=max_items, eviction=eviction, **settings)
        elif max_items is None:  # no count bound: no queue of its own on the hit path
            made = RSSThresholdLRU(limit=limit, **settings)
        else:
            made = CountBoundedRSS(limit=limit, max_items=max_items, eviction=eviction, **settings)
    except ValueError as exc:
        raise ValueError(f"cached(): {str(exc).splitlines()[0]}") from None
    return made, (type(made).__qualname__, repr(sorted(made.settings().items())))
