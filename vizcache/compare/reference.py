"""Reference curves from libCacheSim (optional: ``pip install vizcache[reference]``).

The same requests and object sizes go through libCacheSim's own LRU, LFU, S3-FIFO and ARC, so
a reader can check our models against an outside simulator and see what other eviction
orders would give.
"""

from __future__ import annotations

ALGORITHMS = ("LRU", "LFU", "S3FIFO", "ARC")


def available() -> bool:
    try:
        import libcachesim  # noqa: F401
    except ImportError:
        return False
    return True


def replay(algorithm: str, keys: list, sizes: dict, capacity: int) -> dict:
    """Hit ratio, byte hit ratio and peak occupied bytes of one libCacheSim cache of ``capacity`` bytes."""
    import libcachesim as lcs

    cache = getattr(lcs, algorithm)(cache_size=capacity)
    ids: dict = {}
    hits = hit_bytes = all_bytes = peak = 0
    for key in keys:
        req = lcs.Request()
        req.obj_id = ids.setdefault(key, len(ids) + 1)
        req.obj_size = size = sizes[key]
        all_bytes += size
        if cache.get(req):
            hits += 1
            hit_bytes += size
        peak = max(peak, cache.get_occupied_byte())
    return {"hit_ratio": hits / len(keys) if keys else 0.0, "byte_hit_ratio": hit_bytes / all_bytes if all_bytes else 0.0,
            "peak_bytes": int(peak)}


def curves(keys: list, sizes: dict, budgets: list[int]) -> dict[str, dict[str, list]]:
    """Every reference algorithm at every budget, or {} when libCacheSim is not installed."""
    if not available():
        return {}
    out = {}
    for algorithm in ALGORITHMS:
        results = [replay(algorithm, keys, sizes, b) for b in budgets]
        out[algorithm] = {k: [r[k] for r in results] for k in ("hit_ratio", "byte_hit_ratio", "peak_bytes")}
    return out
