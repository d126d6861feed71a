"""Shared timing helper: medians of repeated batches, so one noisy batch does not decide."""

import statistics
import time


def per_call(fn, calls: int = 100_000, repeats: int = 7) -> float:
    """Median seconds per call of ``fn()`` over ``repeats`` batches of ``calls``."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)
