"""What ``vizcache simulate`` computes: a whole trace through the byte-capacity models and the policy models.

Requests arrive as arrays (:class:`~vizcache.compare.tracefile.Requests`); the models run on dense
integer ids (a list test per hit, no string hashing). With ``sample`` the trace is first cut to a
SHARDS sample (:mod:`.shards`) and every budget scaled by the rate actually sampled.
"""

from __future__ import annotations

import time

import numpy as np

from ..orders import ORDERS
from . import models, shards
from .simulate import make_model
from .tracefile import Requests

POLICY_MODELS = ("RSSThresholdLRU", "LegacyRSSManager")


def labels(orders: list[str], policies: bool = True) -> dict[str, tuple[str, dict]]:
    """label -> (model, parameters): a byte-capacity model per order and, with ``policies``, RSSThresholdLRU in each
    order and LegacyRSSManager."""
    out: dict[str, tuple[str, dict]] = {order: (order, {}) for order in orders}
    if not policies:
        return out
    for order in orders:
        out["RSSThresholdLRU" if order == "lru" else f"RSSThresholdLRU {order}"] = ("RSSThresholdLRU", {"order": order})
    out["LegacyRSSManager"] = ("LegacyRSSManager", {})
    return out


def sample(requests: Requests, rate: float) -> Requests:
    """The requests of the keys in the SHARDS sample at ``rate`` (every request of a sampled key)."""
    keys = requests.keys
    if keys.dtype == np.uint64:
        hashes = shards.hash_ids(keys)
    else:
        hashes = np.fromiter((shards.key_hash(k) for k in keys), dtype=np.uint64, count=keys.size)
    keep = shards.sample_mask(hashes, rate)[requests.ids]
    return requests._replace(times=requests.times[keep], ids=requests.ids[keep], sizes=requests.sizes[keep])


def working_set(requests: Requests) -> int:
    """Bytes of every distinct object, each at the size of its first request."""
    first = np.unique(requests.ids, return_index=True)[1]
    return int(requests.sizes[first].sum())


def run(requests: Requests, budgets: list[int], orders: list[str] | None = None, rate: float | None = None,
        policies: bool = True) -> dict:
    """Curves for every model at every budget, with each model's time; ``rate`` simulates a SHARDS sample
    (peak bytes are then the miniature cache's)."""
    orders = list(orders or ORDERS)
    full, full_n, full_bytes = requests, len(requests.ids), int(requests.sizes.sum())
    if rate is not None:
        requests = sample(requests, rate)
    scaled = [shards.scaled_budget(b, rate) for b in budgets] if rate is not None else list(budgets)
    ids = requests.ids.tolist()
    request_sizes = requests.sizes.tolist()
    n_ids = len(requests.keys)
    first = np.unique(requests.ids, return_index=True)[1]
    size_of = dict(zip(requests.ids[first].tolist(), requests.sizes[first].tolist(), strict=True))
    total_bytes = int(requests.sizes.sum())
    n = len(ids)
    curves, seconds = {}, {}
    for label, (model, params) in labels(orders, policies).items():
        start = time.process_time()  # CPU time: the machine's other work does not count against a model
        points = []
        for budget in scaled:
            if not n:
                points.append((0, 0, 0))
            elif model in models.ALGORITHMS:
                points.append(models.run(model, ids, request_sizes, budget, n_ids))
            else:
                m = make_model(model, budget, params=params)
                m.feed(ids, size_of)
                points.append((m.misses, m.miss_bytes, m.peak))
        seconds[label] = time.process_time() - start
        if rate is None:
            hit = [(n - p[0]) / n if n else 0.0 for p in points]
            byte_hit = [(total_bytes - p[1]) / total_bytes if total_bytes else 0.0 for p in points]
        else:  # SHARDS_adj: the whole trace's ratios from the sample's, corrected for its size
            hit = [shards.adjusted_hit_ratio(n - p[0], n, full_n, rate) for p in points]
            byte_hit = [shards.adjusted_hit_ratio(total_bytes - p[1], total_bytes, full_bytes, rate) for p in points]
        curves[label] = {"hit_ratio": hit, "byte_hit_ratio": byte_hit, "peak_bytes": [int(p[2]) for p in points]}
    out = {"budgets": list(budgets), "policies": curves, "requests": len(full.ids), "keys": len(full.keys),
           "model_cpu_seconds": seconds,
           "requests_per_second": {k: n * len(budgets) / s if s else None for k, s in seconds.items()}}
    if rate is not None:
        out["sample"] = {"rate": shards.effective_rate(rate), "requests": n, "keys": int(first.size), "budgets": scaled}
    return out
