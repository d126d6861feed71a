"""A seeded synthetic trace that no vizcache policy was tuned on: a Markov mix of three request kinds.

The trace moves between three states, each held for a geometric run of requests (mean
``RUN``): zipf lookups over a fixed catalogue (popularity ``ALPHA``), looping scans over a few
fixed ranges (each loop resumes where it stopped), and one-hit wonders (ids never seen before
or after). Object sizes are log-normal (median 16 KiB), fixed per object. It is the second
foreign trace of the libCacheSim agreement tests, beside libCacheSim's cloudPhysics block trace.
"""

from __future__ import annotations

import numpy as np

N_REQUESTS = 1_200_000
ZIPF_OBJECTS, ALPHA = 100_000, 0.9
LOOPS, LOOP_OBJECTS = 4, 6_000
RUN = 500
TRANSITIONS = np.array([[0.0, 0.6, 0.4],  # from zipf: to scan, to one-hit wonders
                        [0.8, 0.0, 0.2],  # from scan
                        [0.8, 0.2, 0.0]])  # from one-hit wonders


def markov_trace(n: int = N_REQUESTS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` requests as (object ids uint64, sizes int64), the same for the same seed."""
    rng = np.random.default_rng(seed)
    n_runs = 2 * n // RUN + 16
    lengths = rng.geometric(1 / RUN, n_runs)
    states = np.empty(n_runs, dtype=np.int64)
    states[0] = 0
    pick = rng.random(n_runs)
    cumulative = TRANSITIONS.cumsum(axis=1)
    for i in range(1, n_runs):
        states[i] = np.searchsorted(cumulative[states[i - 1]], pick[i], side="right")
    state = np.repeat(states, lengths)[:n]
    ids = np.empty(n, dtype=np.uint64)
    zipf_at = np.flatnonzero(state == 0)
    weights = 1.0 / np.arange(1, ZIPF_OBJECTS + 1) ** ALPHA
    ids[zipf_at] = rng.choice(ZIPF_OBJECTS, size=zipf_at.size, p=weights / weights.sum())
    # scans: each run of the scan state walks one loop (chosen per run) from where that loop stopped
    run_of = np.repeat(np.arange(n_runs), lengths)[:n]
    scan_at = np.flatnonzero(state == 1)
    loop_of_run = rng.integers(0, LOOPS, n_runs)
    loop = loop_of_run[run_of[scan_at]]
    position = np.zeros(scan_at.size, dtype=np.int64)
    for k in range(LOOPS):
        mine = loop == k
        position[mine] = np.arange(mine.sum()) % LOOP_OBJECTS
    ids[scan_at] = ZIPF_OBJECTS + loop * LOOP_OBJECTS + position
    wonders = np.flatnonzero(state == 2)
    ids[wonders] = ZIPF_OBJECTS + LOOPS * LOOP_OBJECTS + np.arange(wonders.size)
    object_sizes = np.maximum(64, rng.lognormal(np.log(16384), 1.0, int(ids.max()) + 1)).astype(np.int64)
    return ids, object_sizes[ids.astype(np.int64)]
