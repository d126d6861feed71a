"""Request sequences to replay: (seconds since start, key). Deterministic in the seed.

Every repetition of an experiment replays its own sequence, drawn from ``sequence_seed(seed,
repetition)``, so intervals over repetitions cover the draw of the workload as well as the run's
noise; every policy replays the same sequence in the same repetition. Keys are catalog names,
except for a trace replayed with ``keys = "recorded"``: there every recorded key (a HATS
partition, say) is its own entry.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from ..trace import read_trace
from .tracefile import object_sizes

Request = tuple[float, str]
KINDS = ("old-app", "finders", "zipf", "bursty", "scan", "shift", "trace")


def sequence_seed(seed: int, repetition: int) -> int:
    """The seed of repetition ``repetition``'s request sequence, derived from the experiment's ``seed`` (recorded per run)."""
    return int(np.random.SeedSequence([seed, repetition]).generate_state(1)[0])


def old_app(names: list[str], requests: int, seed: int, think: float = 5.0) -> list[Request]:
    """The old viewer's scenario: open PZWAV, AMICO, BOTH in turn, then switch among them at random."""
    rng = np.random.default_rng(seed)
    first = [n for n in ("PZWAV", "AMICO", "BOTH") if n in names] or names[:3]
    order = first + [first[i] for i in rng.integers(0, len(first), max(0, requests - len(first)))]
    return _timed(order[:requests], rng.exponential(think, requests))


def finders(names: list[str], requests: int, seed: int, skew: float = 1.1, think: float = 5.0) -> list[Request]:
    """A user switching between the cluster finders (PZWAV, AMICO, BOTH, uniformly), each switch followed by
    a member catalog of the region in view (popularity ∝ 1/rank^skew over the member files)."""
    rng = np.random.default_rng(seed)
    codes = [n for n in ("PZWAV", "AMICO", "BOTH") if n in names] or names[:3]
    members = list(rng.permutation([n for n in names if n not in codes])) or codes
    weights = 1.0 / np.arange(1, len(members) + 1) ** skew
    picks = rng.choice(len(members), size=requests, p=weights / weights.sum())
    order = [codes[rng.integers(len(codes))] if i % 2 == 0 else members[picks[i]] for i in range(requests)]
    return _timed(order, rng.exponential(think, requests))


def zipf(names: list[str], requests: int, seed: int, skew: float = 1.1, think: float = 2.0) -> list[Request]:
    """Popularity ∝ 1/rank^skew over the catalogs (a shuffled rank order)."""
    rng = np.random.default_rng(seed)
    ranked = list(rng.permutation(names))
    weights = 1.0 / np.arange(1, len(ranked) + 1) ** skew
    picks = rng.choice(len(ranked), size=requests, p=weights / weights.sum())
    return _timed([ranked[i] for i in picks], rng.exponential(think, requests))


def bursty(names: list[str], requests: int, seed: int, burst: int = 8, pause: float = 600.0) -> list[Request]:
    """Sessions: quick bursts over a few catalogs, then long pauses (what age-based expiry sees)."""
    rng = np.random.default_rng(seed)
    order, gaps = [], []
    while len(order) < requests:
        subset = rng.choice(names, size=min(len(names), 3), replace=False)
        for i in range(burst):
            order.append(str(subset[rng.integers(0, len(subset))]))
            gaps.append(pause * rng.uniform(0.5, 1.5) if i == 0 else rng.exponential(1.0))
    return _timed(order[:requests], np.asarray(gaps[:requests]))


def scan(names: list[str], requests: int, seed: int) -> list[Request]:
    """Every catalog once, in order, repeated: the worst case for recency."""
    order = [names[i % len(names)] for i in range(requests)]
    return _timed(order, np.ones(requests))


def shift(names: list[str], requests: int, seed: int, skew: float = 1.1, hot: int = 8, shift_at: float = 0.5,
          fraction: float = 1.0, think: float = 2.0) -> list[Request]:
    """Zipf over a hot set of ``hot`` catalogs; after ``shift_at`` of the requests, ``fraction`` of it moves to others."""
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(names))
    hot = max(1, min(hot, len(order)))
    first = order[:hot]
    moved = min(round(fraction * hot), len(order) - hot)  # no more newcomers than there are other catalogs
    second = first[moved:] + order[hot:hot + moved]
    weights = 1.0 / np.arange(1, hot + 1) ** skew
    p = weights / weights.sum()
    split = round(shift_at * requests)
    picks = [first[i] for i in rng.choice(hot, size=split, p=p)] + [second[i] for i in rng.choice(len(second), size=requests - split, p=p)]
    return _timed(picks, rng.exponential(think, requests))


def from_trace(path: Path, names: list[str]) -> list[Request]:
    """A recorded viewer trace; keys ("('BOTH', 'fingerprint')") become catalog names."""
    requests = []
    for row in read_trace(path):
        key = row["key"]
        try:
            parsed = ast.literal_eval(key)
            key = parsed[0] if isinstance(parsed, tuple) else key
        except (ValueError, SyntaxError):
            pass
        if key in names:
            requests.append((float(row["t"]), key))
    return requests


def recorded_keys(path: Path) -> tuple[list[Request], dict[str, tuple[int, float]], int]:
    """A recorded trace key by key: the requests, each key's (size, load seconds), and how many requests were left out.

    A key's size is what :func:`~vizcache.compare.tracefile.object_sizes` says (the loader-reported
    size, else the RSS delta); its load time is the median of its recorded loads. Requests for a
    key whose size the trace never gives are left out (and counted).
    """
    rows = read_trace(path)
    sizes, _ = object_sizes(rows)
    load_times: dict[str, list[float]] = {}
    for row in rows:
        if not row["hit"] and not row.get("failed"):
            load_times.setdefault(row["key"], []).append(float(row["load_s"]))
    requests = [(float(row["t"]), row["key"]) for row in rows if row["key"] in sizes]
    objects = {key: (size, float(np.median(load_times.get(key, [0.0])))) for key, size in sizes.items()}
    return requests, objects, len(rows) - len(requests)


def _timed(order: list[str], gaps: np.ndarray) -> list[Request]:
    times = np.cumsum(gaps) - gaps[0]
    return [(float(t), str(name)) for t, name in zip(times, order)]
