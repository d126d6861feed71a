"""The live comparison: each shadow's hit ratio with an interval over time windows, `vizcache compare`'s decision rule, and
a button's worth of `vizcache compare` report on the recorded requests.

A time window (``ShadowSet(window_s=...)``, a minute by default) plays the part of one repetition of
``vizcache compare``: every shadow saw the same requests in it, so comparisons are paired by window.
The hit ratio shown is the exact one over every request so far (what ``vizcache simulate`` gives on
the trace); its 95 % interval resamples whole windows. The decision is
:func:`vizcache.compare.decision.decision` on one "run" per window, with the figures a shadow has:
hit ratio, and its bytes over the budget after each request (``memory = "hard"``, tolerance 2 % of the
budget, a 10 % practical threshold: ``vizcache compare``'s defaults). Latencies are not simulated, so
those criteria are "not measured" and count as neither better nor worse.
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from ..compare.decision import decision
from ..compare.metrics import METRICS, MiB

RESAMPLES, CONFIDENCE = 2000, 0.95
SPEC = {"memory": "hard", "tolerance": 0.02, "switch_p95_ms": None}
THRESHOLDS = {"relative": 0.10, "latency_ms": 1.0}
#: windows the decision resamples at most: its bootstrap costs ~2 s of CPU at 60, ~24 s at a day's 1,440
MAX_RUNS = 60
#: what the objectives read of a policy's summary (the decision's criteria compare the windows themselves)
SUMMARISED = ("hit_ratio", "switch_p95_ms", "settled_over_share", "settled_excess_mib", "over_limit_share", "max_excess_mib")
#: a shadow label -> the [[policies]] table of a real run (the plain byte LRU is the simulator's alone)
REAL_POLICIES = {"rss-lru": {"name": "RSSThresholdLRU", "order": "lru"}, "getsizeof": {"name": "SizeEstimatedLRU", "estimator": "getsizeof"},
                 "legacy-rss": {"name": "LegacyRSSManager"}}


def ratio_interval(windows: list[list]) -> list[float] | None:
    """95 % interval of hits / requests, resampling whole windows ([start, requests, hits, ...]); None below two windows."""
    counts = np.asarray([(w[1], w[2]) for w in windows if w[1]], dtype=float)
    if len(counts) < 2:
        return None
    idx = np.random.default_rng(20240601).integers(0, len(counts), size=(RESAMPLES, len(counts)))
    ratios = counts[idx, 1].sum(axis=1) / counts[idx, 0].sum(axis=1)
    alpha = (1 - CONFIDENCE) / 2
    return [float(np.quantile(ratios, alpha)), float(np.quantile(ratios, 1 - alpha))]


def merged(windows: list[list], blocks: int) -> list[list]:
    """At most ``blocks`` windows: consecutive ones summed (the largest excess kept), so a day of windows costs what an hour does."""
    if len(windows) <= blocks:
        return windows
    groups = np.array_split(np.arange(len(windows)), blocks)
    return [[windows[g[0]][0], sum(windows[i][1] for i in g), sum(windows[i][2] for i in g), sum(windows[i][3] for i in g),
             max(windows[i][4] for i in g)] for g in groups]


def window_runs(windows: list[list], budget: int) -> list[dict]:
    """One `vizcache compare` run per window (at most MAX_RUNS, merged) with requests: the figures a shadow has, the others unmeasured."""
    runs = []
    for i, (_, requests, hits, over, excess) in enumerate(merged(windows, MAX_RUNS)):
        if not requests:
            continue
        metrics = dict.fromkeys((m for m, spec in METRICS.items() if spec.kind != "requests"), None)
        metrics |= {"hit_ratio": hits / requests, "settled_over_share": over / requests, "over_limit_share": over / requests,
                    "settled_excess_mib": excess / MiB, "max_excess_mib": excess / MiB}
        runs.append({"repetition": i, "metrics": metrics, "requests": []})
    return runs


def _summary(runs: list[dict]) -> dict:
    """The median [95 % interval] over windows of the figures the objectives read, vectorised (a window is one value)."""
    rng = np.random.default_rng(20240601)
    out = {}
    for metric in SUMMARISED:
        values = np.asarray([r["metrics"][metric] for r in runs if r["metrics"].get(metric) is not None], dtype=float)  # switch p95: none
        if not len(values):
            out[metric] = {"median": None, "ci": None, "n": 0}
            continue
        boot = np.median(values[rng.integers(0, len(values), size=(RESAMPLES, len(values)))], axis=1)
        alpha = (1 - CONFIDENCE) / 2
        ci = [float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha))] if len(values) > 1 else None
        out[metric] = {"median": float(np.median(values)), "ci": ci, "n": len(values)}
    return out


def live_decision(figures: dict, baseline: str) -> dict:
    """`vizcache compare`'s decision on the shadows' windows, ``baseline`` being the policy the cache runs (seconds of CPU:
    :class:`Decisions` runs it in the background)."""
    runs = {label: window_runs(s["windows"], figures["budget"]) for label, s in figures["shadows"].items() if not s["failed"]}
    runs = {label: r for label, r in runs.items() if r}
    summary = {label: _summary(r) for label, r in runs.items()}
    return decision(runs, summary, {**SPEC, "baseline": baseline, "budget_bytes": figures["budget"]}, THRESHOLDS)


class Decisions:
    """The newest decision on a shadow set, shared by every session, made again in a background thread at most every ``every_s``."""

    def __init__(self, shadows, baseline: str, every_s: float = 300.0) -> None:
        self.shadows, self.baseline, self.every_s = shadows, baseline, every_s
        self.latest: dict | None = None
        self.made_at = -math.inf
        self._running = threading.Lock()

    def get(self) -> dict | None:
        """The newest decision (None before the first); starts the next one when this one is old."""
        if time.monotonic() - self.made_at >= self.every_s and self._running.acquire(blocking=False):
            self.made_at = time.monotonic()
            threading.Thread(target=self._make, name="vizcache-live-decision", daemon=True).start()
        return self.latest

    def _make(self) -> None:
        try:
            self.latest = live_decision(self.shadows.snapshot(), self.baseline)
        except Exception:  # shown as no decision; the page goes on
            logging.getLogger(__name__).exception("vizcache: the live A/B decision failed")
        finally:
            self._running.release()


def summary_line(figures: dict) -> str:
    """``on your traffic since 14:02: rss-lru 0.81 [0.78, 0.84], getsizeof 0.83 [...] (over the budget 40 % of the time), ...``"""
    parts = []
    for label, s in figures["shadows"].items():
        if s["failed"] or s["hit_ratio"] is None:
            parts.append(f"{label} {'failed' if s['failed'] else '–'}")
            continue
        ci = ratio_interval(s["windows"])
        over = s["over_budget_share"]
        parts.append(f"{label} {s['hit_ratio']:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
                     + (f" (over the budget {over * 100:.0f} % of the time)" if over else ""))
    since = time.strftime("%H:%M", time.localtime(figures["started"]))
    return f"on your traffic since {since}: " + ", ".join(parts)


def write_report(trace: Path, offset: int, folder: Path, figures: dict, baseline: str, *, quick: bool = False) -> tuple[Path, subprocess.Popen]:
    """Start `vizcache compare` on the trace's rows from byte ``offset`` (this process's), in a new folder of ``folder``.

    Writes ``live-YYYYmmdd-HHMMSS/`` holding ``trace.jsonl`` (the rows), ``experiment.toml`` (every
    shadow with a real policy, at the shadows' budget, keys replayed as recorded) and, when the
    compare ends, its report; ``compare.log`` takes its output. Returns the folder and the process.
    """
    out = folder / time.strftime("live-%Y%m%d-%H%M%S")
    out.mkdir(parents=True)
    with trace.open("rb") as src, (out / "trace.jsonl").open("wb") as dst:
        src.seek(offset)
        rows = 0
        for line in src:
            if line.endswith(b"\n"):  # a row being written now is left for the next report
                dst.write(line)
                rows += 1
    if not rows:
        raise ValueError(f"{trace}: no request recorded since this server started; nothing to compare")
    labels = [label for label in figures["shadows"] if label in REAL_POLICIES or label in _orders()]
    policies = "".join(f'\n[[policies]]\nlabel = "{label}"\n' + "".join(f"{k} = \"{v}\"\n" for k, v in _real(label).items())
                       for label in labels)
    (out / "experiment.toml").write_text(
        f'# written by the viewer\'s live A/B from this server\'s requests since {time.ctime(figures["started"])}\n'
        f'[experiment]\nname = "live A/B {out.name}"\nrepetitions = 3\nbudget = {max(figures["budget"], 2**20)}\n\n'
        f'[decision]\nbaseline = "{baseline if baseline in labels else labels[0]}"\nmemory = "hard"\ntolerance = 0.02\n\n'
        f'[workload]\nkind = "trace"\ntrace = "trace.jsonl"\nkeys = "recorded"\nrequests = {min(rows, 1_000_000)}\n{policies}')
    log = (out / "compare.log").open("w")
    command = [sys.executable, "-m", "vizcache.cli", "compare", str(out / "experiment.toml"), "--out", str(out)] + (["--quick"] if quick else [])
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=out, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    log.close()
    return out, proc


def _orders() -> tuple[str, ...]:
    from ..orders import ORDERS

    return tuple(o for o in ORDERS if o != "lru")


def _real(label: str) -> dict:
    return REAL_POLICIES.get(label) or {"name": "RSSThresholdLRU", "order": label}
