"""SHARDS spatial sampling (Waldspurger et al., FAST'15), fixed rate: simulate a key-hash sample of a trace.

A key is sampled when its hash modulo ``MODULUS`` (2**24, the paper's P) is below
``threshold(rate)`` (the paper's T = R × P). Every request of a sampled key is kept and no request
of the others, so reuse among the sampled keys is intact. Replaying the sampled requests through a
cache of ``scaled_budget(budget, rate)`` bytes estimates the whole trace's hit ratio at ``budget``
(a miniature simulation), once :func:`adjusted_hit_ratio` corrects for the sample's size. The hash
is stable across processes and machines, so a live cache (an A/B arm) and an offline simulation
sample the same keys.

>>> sampler = Sampler(0.01)
>>> sampler.rate <= 0.01 and sampled(key_hash("catalog-42"), 1.0)
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable

import numpy as np

MODULUS = 1 << 24
_MASK64 = (1 << 64) - 1


_GAMMA = 0x9E3779B97F4A7C15  # splitmix64's increment: without it id 0 hashes to 0 and is always sampled


def _mix64(x: int) -> int:
    # splitmix64: consecutive ids (block numbers, object ids) spread over all residues
    x = (x + _GAMMA) & _MASK64
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK64
    return x ^ (x >> 31)


def key_hash(key: Hashable) -> int:
    """A 64-bit hash of ``key`` that is the same in every process (Python's ``hash`` of a str is salted).

    Integers go through splitmix64 (as :func:`hash_ids` does for arrays); text and bytes
    through BLAKE2b; anything else through its ``repr``.
    """
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return _mix64(int(key) & _MASK64)
    data = key if isinstance(key, bytes) else (key if isinstance(key, str) else repr(key)).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def hash_ids(ids: np.ndarray) -> np.ndarray:
    """:func:`key_hash` of every integer id in ``ids`` at once (uint64)."""
    x = np.asarray(ids).astype(np.uint64, copy=True)
    x += np.uint64(_GAMMA)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def threshold(rate: float) -> int:
    """The paper's T for a sampling ``rate`` in (0, 1]: keys whose hash mod ``MODULUS`` is below it are sampled."""
    if not 0 < rate <= 1:
        raise ValueError(f"sampling rate {rate!r}: give a fraction above 0 and at most 1 (e.g. 0.01 for 1 %)")
    return max(1, round(rate * MODULUS))


def sampled(key_hash: int, rate: float) -> bool:
    """Whether the key with hash ``key_hash`` (from :func:`key_hash`) is in the sample at ``rate``."""
    return key_hash % MODULUS < threshold(rate)


def sample_mask(hashes: np.ndarray, rate: float) -> np.ndarray:
    """:func:`sampled` of every hash in ``hashes`` (uint64) at once: a boolean mask."""
    return (hashes % np.uint64(MODULUS)) < np.uint64(threshold(rate))


def effective_rate(rate: float) -> float:
    """The rate actually sampled (T / P): what budgets are scaled by."""
    return threshold(rate) / MODULUS


def scaled_budget(budget: int, rate: float) -> int:
    """The byte budget of the miniature cache that stands for ``budget`` on the whole trace."""
    return max(1, round(budget * effective_rate(rate)))


def adjusted_hit_ratio(hits: float, sampled: float, total: float, rate: float) -> float:
    """The whole trace's hit ratio from a sample's, SHARDS_adj style (the paper's fixed-rate correction).

    ``hits`` of ``sampled`` requests (or bytes) hit in the miniature cache; ``total`` is the whole
    trace's count. The sample should hold ``rate × total``; a few popular keys falling in or out of
    it make it larger or smaller, and those surplus requests are mostly hits, so the surplus is
    taken off the hits (a shortfall added) before dividing by the expected count.
    """
    expected = effective_rate(rate) * total
    if expected <= 0:
        return 0.0
    return min(1.0, max(0.0, (hits + expected - sampled) / expected))


class Sampler:
    """A key filter at a fixed rate: ``Sampler(0.01)(key)`` is True for about 1 % of keys, the same ones everywhere."""

    __slots__ = ("rate", "_threshold")

    def __init__(self, rate: float) -> None:
        self._threshold = threshold(rate)
        self.rate = self._threshold / MODULUS

    def __call__(self, key: Hashable) -> bool:
        return key_hash(key) % MODULUS < self._threshold

    def scaled_budget(self, budget: int) -> int:
        return max(1, round(budget * self.rate))
