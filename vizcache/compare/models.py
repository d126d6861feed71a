"""Plain byte-capacity caches as libCacheSim runs them: LRU, S3-FIFO and SIEVE, step for step.

Each takes the requests as integer object ids (0..n-1) with each request's object size and a
capacity in bytes, and returns ``(misses, miss_bytes, peak_bytes)``. They follow libCacheSim's C
code (``cache.c``'s ``cache_get_base``, ``eviction/S3FIFO.c``, ``eviction/Sieve.c``), not the
papers' prose, so their hit ratios equal libCacheSim's:

* a miss whose object is bigger than the cache (for S3-FIFO: than its small queue) is not cached;
* otherwise the cache evicts until the object fits, then inserts it;
* S3-FIFO: a small FIFO of ``int(0.1 × capacity)`` bytes, a main FIFO of the rest and a ghost FIFO
  of ``int(0.9 × capacity)`` bytes of the keys evicted from small (object sizes count against it).
  A hit adds one to the object's counter (read as at most 3). Eviction takes from main when main
  holds more than its share or small is empty, else from small: small's head moves to main
  (counter cleared) when it was hit twice or more, else leaves and is remembered in the ghost; main's
  head goes back to main's tail with one less round while its counter is above 0. A miss that is
  in the ghost goes straight to main.
* SIEVE: one FIFO, new objects at the newest end; a hit only sets a visited bit. A hand walks from
  the oldest end towards the newest, clearing visited bits, and evicts the first unvisited object;
  it stays where it stopped and wraps to the oldest end.

The loops run in plain Python over lists indexed by id, the hit path being a list test and a
store (see docs/performance.md for their speed).
"""

from __future__ import annotations

from collections import OrderedDict, deque

ALGORITHMS = ("lru", "s3fifo", "sieve")
SMALL_RATIO = 0.10  # libCacheSim's S3-FIFO defaults: fifo-size-ratio, ghost-size-ratio, move-to-main-threshold
GHOST_RATIO = 0.90
MOVE_TO_MAIN = 2


def lru(ids: list[int], sizes: list[int], capacity: int) -> tuple[int, int, int]:
    """libCacheSim's LRU: evict least recently used until the new object fits, then insert it."""
    cache: OrderedDict = OrderedDict()
    move, pop = cache.move_to_end, cache.popitem
    used = peak = misses = miss_bytes = 0
    for i, key in enumerate(ids):
        if key in cache:
            move(key)
            continue
        size = sizes[i]
        misses += 1
        miss_bytes += size
        if size > capacity:
            continue
        while used + size > capacity:
            used -= pop(last=False)[1]
        cache[key] = size
        used += size
        if used > peak:
            peak = used
    return misses, miss_bytes, peak


def s3fifo(ids: list[int], sizes: list[int], capacity: int, n_ids: int, small_ratio: float = SMALL_RATIO,
           ghost_ratio: float = GHOST_RATIO, move_to_main: int = MOVE_TO_MAIN, warm_to_main: bool = True) -> tuple[int, int, int]:
    """libCacheSim's S3FIFO (``S3FIFO.c``) on byte capacity; ids must be below ``n_ids``."""
    small_cap = int(capacity * small_ratio)
    main_cap = capacity - small_cap
    ghost_cap = int(capacity * ghost_ratio)
    where = bytearray(n_ids)  # 0: not cached, 1: small, 2: main
    freq = bytearray(n_ids)  # hits, read as at most 3 (libCacheSim's MIN(freq, 3)); bump[f] is the count after one more
    bump = bytes([1, 2, 3, 3])
    size_of = [0] * n_ids  # the size an object was inserted with
    small: deque = deque()
    main: deque = deque()
    ghost: OrderedDict = OrderedDict()  # id -> size, oldest first
    small_bytes = main_bytes = ghost_bytes = peak = misses = miss_bytes = 0
    evicted = not warm_to_main
    for i, key in enumerate(ids):
        if where[key]:
            freq[key] = bump[freq[key]]
            continue
        size = sizes[i]
        misses += 1
        miss_bytes += size
        on_ghost = ghost.pop(key, None)
        if on_ghost is not None:
            ghost_bytes -= on_ghost
        if size > small_cap:  # S3FIFO_can_insert: nothing bigger than the small queue is cached
            continue
        while small_bytes + main_bytes + size > capacity:
            evicted = True
            if main_bytes > main_cap or not small_bytes:
                while main:  # evict_main: one object leaves; the hit ones get another round
                    head = main.popleft()
                    f = freq[head]
                    if f:
                        freq[head] = f - 1
                        main.append(head)
                        continue
                    where[head] = 0
                    main_bytes -= size_of[head]
                    break
            else:
                while small:  # evict_fifo: one object leaves for the ghost; the hit ones move to main
                    head = small.popleft()
                    s = size_of[head]
                    small_bytes -= s
                    if freq[head] >= move_to_main:
                        freq[head] = 0
                        where[head] = 2
                        main.append(head)
                        main_bytes += s
                        continue
                    where[head] = 0
                    if s <= ghost_cap and head not in ghost:
                        while ghost_bytes + s > ghost_cap:
                            ghost_bytes -= ghost.popitem(last=False)[1]
                        ghost[head] = s
                        ghost_bytes += s
                    break
        if on_ghost is None and size >= small_cap:  # S3FIFO_insert refuses it after the room was made (libCacheSim's >=)
            continue
        if on_ghost is not None or (not evicted and small_bytes >= small_cap):  # warm-up: small full, nothing evicted yet
            where[key] = 2
            main.append(key)
            main_bytes += size
        else:
            where[key] = 1
            small.append(key)
            small_bytes += size
        freq[key] = 0
        size_of[key] = size
        if small_bytes + main_bytes > peak:
            peak = small_bytes + main_bytes
    return misses, miss_bytes, peak


def sieve(ids: list[int], sizes: list[int], capacity: int, n_ids: int) -> tuple[int, int, int]:
    """libCacheSim's Sieve (``Sieve.c``) on byte capacity; ids must be below ``n_ids``.

    The queue is a list, oldest first, in which an evicted object leaves a hole (None) behind the
    hand; holes are dropped when the hand wraps, which it does after a pass over the whole list.
    """
    cached = bytearray(n_ids)  # 0: not cached, 1: cached, 2: cached and visited
    size_of = [0] * n_ids
    queue: list = []
    hand = None  # index in queue; None: start at the oldest (libCacheSim's NULL pointer)
    used = peak = misses = miss_bytes = 0
    for i, key in enumerate(ids):
        if cached[key]:
            cached[key] = 2
            continue
        size = sizes[i]
        misses += 1
        miss_bytes += size
        if size > capacity:
            continue
        while used + size > capacity:
            if hand is None:
                queue = [k for k in queue if k is not None]
                hand = 0
            victim = queue[hand]
            while cached[victim] == 2:
                cached[victim] = 1
                hand += 1
                if hand == len(queue):
                    queue = [k for k in queue if k is not None]
                    hand = 0
                victim = queue[hand]
            queue[hand] = None
            cached[victim] = 0
            used -= size_of[victim]
            hand += 1
            if hand == len(queue):
                hand = None  # evicted the newest: the next eviction starts from the oldest again
        cached[key] = 1
        size_of[key] = size
        queue.append(key)
        used += size
        if used > peak:
            peak = used
    return misses, miss_bytes, peak


def run(algorithm: str, ids: list[int], sizes: list[int], capacity: int, n_ids: int) -> tuple[int, int, int]:
    """``(misses, miss_bytes, peak_bytes)`` of one algorithm at one capacity."""
    if algorithm == "lru":
        return lru(ids, sizes, capacity)
    if algorithm == "s3fifo":
        return s3fifo(ids, sizes, capacity, n_ids)
    if algorithm == "sieve":
        return sieve(ids, sizes, capacity, n_ids)
    raise ValueError(f"no byte-capacity model {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
