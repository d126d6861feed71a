"""Shadow policies against the simulator: fed from a real Cache's trace, they give what `vizcache simulate` gives on that trace."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from tests.cli_run import vizcache
from vizcache import Cache, Sized
from vizcache.compare.simulate import simulate
from vizcache.live.shadows import ShadowSet, attach, shadow_specs
from vizcache.policies.rss_lru import RSSThresholdLRU

#: shadow label -> the model `vizcache simulate` prints it under
SIMULATE_LABELS = {"lru": "lru", "rss-lru": "RSSThresholdLRU", "s3fifo": "RSSThresholdLRU s3fifo", "sieve": "RSSThresholdLRU sieve",
                   "legacy-rss": "LegacyRSSManager"}
MiB = 2**20


def zipf_keys(n: int, keys: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, keys + 1) ** 0.9
    return [f"catalog-{i}" for i in rng.choice(keys, size=n, p=weights / weights.sum())]


def test_every_policy_and_simulated_order_has_a_shadow():
    specs = shadow_specs()
    assert {"rss-lru", "getsizeof", "legacy-rss", "lru", "s3fifo"} <= set(specs)
    assert specs["s3fifo"] == ("RSSThresholdLRU", {"order": "s3fifo"}) and specs["getsizeof"][0] == "SizeEstimatedLRU"


def test_shadows_equal_vizcache_simulate_on_the_caches_own_trace(tmp_path):
    trace = tmp_path / "trace.jsonl"
    sizes = {f"catalog-{i}": (1 + (i * 7919) % 13) * MiB for i in range(60)}
    cache = Cache(RSSThresholdLRU(limit="64GiB"), trace=trace)
    budget = 40 * MiB
    shadows = attach(cache, budget=budget)
    for key in zipf_keys(3000, 60, seed=1):
        cache.get_or_load(key, lambda key=key: Sized(key, sizes[key]))  # the value is tiny; the reported size is what counts
    cache.flush_trace()
    figures = shadows.snapshot()
    assert figures["unsized_requests"] == 0 and figures["keys"] == 60 and figures["sizes_from"] == {"reported": 60, "rss delta": 0}
    proc = vizcache("simulate", trace, "--budgets", str(budget), "--json")
    assert proc.returncode == 0, proc.stderr
    simulated = json.loads(proc.stdout)["policies"]
    for label, model in SIMULATE_LABELS.items():
        assert figures["shadows"][label]["requests"] == 3000
        assert figures["shadows"][label]["hit_ratio"] == simulated[model]["hit_ratio"][0], label
    # getsizeof: every value reported its size, which SizeEstimatedLRU counts instead of an estimate
    requests = [(0.0, key) for key in zipf_keys(3000, 60, seed=1)]
    assert figures["shadows"]["getsizeof"]["hit_ratio"] == simulate("SizeEstimatedLRU", requests, sizes, budget)["hit_ratio"]
    assert 0 < figures["shadows"]["lru"]["hit_ratio"] < 1  # the budget holds some of the keys, not all


def test_getsizeof_shadow_counts_the_estimate_and_reports_time_over_the_budget():
    sizes = {f"catalog-{i}": 10 * MiB for i in range(20)}
    shadows = ShadowSet(50 * MiB, estimate=lambda key: 100)  # what sys.getsizeof says of a dataclass holding a frame
    keys = zipf_keys(500, 20, seed=2)
    for key in keys:
        first = key not in shadows.sizes
        shadows.offer(key, hit=not first, nbytes=sizes[key] if first else 0)  # sizes from RSS deltas only
    figures = shadows.snapshot()
    assert figures["sizes_from"] == {"reported": 0, "rss delta": 20}
    expected = simulate("SizeEstimatedLRU", [(0.0, k) for k in keys], sizes, 50 * MiB, estimates=dict.fromkeys(sizes, 100))
    getsizeof = figures["shadows"]["getsizeof"]
    assert getsizeof["hit_ratio"] == expected["hit_ratio"]
    assert getsizeof["over_budget_share"] > 0.5 and getsizeof["peak_excess_bytes"] == 150 * MiB  # everything kept: 200 MiB
    assert figures["shadows"]["lru"]["over_budget_share"] == 0


def test_requests_before_a_key_has_a_size_are_left_out_and_counted():
    shadows = ShadowSet(10 * MiB)
    shadows.offer("a", hit=True)  # a hit for a key no load has measured
    shadows.offer("b", hit=False, nbytes=0)  # a load that measured 0 bytes
    shadows.offer("c", hit=False, failed=True)
    shadows.offer("d", hit=False, size=MiB)
    figures = shadows.snapshot()
    assert figures["unsized_requests"] == 3 and figures["shadows"]["lru"]["requests"] == 1


def test_a_failing_shadow_is_logged_once_and_the_rest_go_on(caplog):
    shadows = ShadowSet(10 * MiB)
    broken = shadows.shadows[0]

    def explode(*_args):
        raise RuntimeError("model bug")

    broken.model.feed = explode
    with caplog.at_level(logging.ERROR, logger="vizcache.live.shadows"):
        for i in range(5):
            shadows.offer(f"k{i}", hit=False, size=MiB)
    figures = shadows.snapshot()
    assert figures["shadows"][broken.label]["failed"] and sum("model bug" in r.exc_text for r in caplog.records if r.exc_text) == 1
    assert all(s["requests"] == 5 for label, s in figures["shadows"].items() if label != broken.label)


def test_feeding_errors_never_reach_the_caller(tmp_path, caplog):
    cache = Cache(RSSThresholdLRU(limit="64GiB"), trace=tmp_path / "t.jsonl")
    shadows = attach(cache, budget=MiB)

    shadows._pending = None  # queueing a request now raises inside the recorder's hook
    with caplog.at_level(logging.ERROR):
        assert cache.get_or_load("x", lambda: Sized(1, 10)) == 1
        assert cache.get_or_load("x", lambda: Sized(1, 10)) == 1
    assert cache.stats().hits == 1
    assert sum("shadow policies failed" in r.getMessage() for r in caplog.records) == 1


def test_attach_needs_a_trace_and_returns_the_same_set(tmp_path):
    assert attach(Cache(RSSThresholdLRU(limit="1GiB"))) is None
    cache = Cache(RSSThresholdLRU(limit="1GiB"), trace=tmp_path / "t.jsonl")
    assert attach(cache) is attach(cache)
    assert attach(cache).budget >= 1
    with pytest.raises(ValueError, match="above 0"):
        ShadowSet(0)


def test_the_curve_at_rate_one_is_the_policy_at_each_budget_and_a_sample_comes_close(tmp_path):
    from vizcache.compare.shards import Sampler
    from vizcache.live.curve import Curve

    keys = zipf_keys(100_000, 20_000, seed=3)  # SHARDS needs many keys: a sample of a few hot keys is a coin toss
    sizes = {f"catalog-{i}": (1 + (i * 7919) % 13) * MiB for i in range(20_000)}
    budget = sum(sizes.values()) // 4
    shadows = ShadowSet(budget, labels=["lru"])
    exact, sampled = Curve(budget, shadows.estimates, policy="lru"), Curve(budget, shadows.estimates, policy="lru", rate=0.1)
    shadows.extra += [exact, sampled]
    for key in keys:
        shadows.offer(key, hit=False, size=sizes[key])
    shadows.drain()
    curve = exact.snapshot()
    requests = [(0.0, k) for k in keys]
    assert curve["hit_ratio"] == [simulate("lru", requests, sizes, b)["hit_ratio"] for b in curve["budgets"]]
    assert curve["hit_ratio"][curve["fractions"].index(1.0)] == shadows.snapshot()["shadows"]["lru"]["hit_ratio"]
    estimate = sampled.snapshot()
    picked = Sampler(0.1)
    assert estimate["requests"] == sum(1 for k in keys if picked(k)) < len(keys)
    # SHARDS: close, not equal
    errors = {f: abs(a - b) for f, a, b in zip(curve["fractions"], estimate["hit_ratio"], curve["hit_ratio"])}
    assert max(errors.values()) < 0.05, errors


def test_attach_draws_the_curve_of_the_caches_own_policy(tmp_path):
    cache = Cache(RSSThresholdLRU(limit="64GiB", order="s3fifo"), trace=tmp_path / "t.jsonl")
    shadows = attach(cache, budget=10 * MiB)
    cache.get_or_load("a", lambda: Sized(1, MiB))
    curve = shadows.snapshot()["curve"]
    assert curve["policy"] == "s3fifo" and curve["rate"] == 1.0 and curve["requests"] == 1
    assert curve["budgets"][0] == int(0.05 * 10 * MiB) and curve["budgets"][-1] == 20 * MiB


def test_keys_beyond_max_keys_are_refused_and_counted():
    shadows = ShadowSet(10 * MiB, max_keys=3)
    for i in range(5):
        shadows.offer(f"k{i}", hit=False, size=MiB)
    shadows.offer("k0", hit=True)
    figures = shadows.snapshot()
    assert figures["keys"] == 3 and figures["keys_refused"] == 2 and figures["unsized_requests"] == 2
    assert figures["shadows"]["lru"]["requests"] == 4
