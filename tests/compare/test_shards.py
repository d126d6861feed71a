"""SHARDS sampling's public API: stable hashes, the fixed-rate filter and the budget scaling."""

import subprocess
import sys

import numpy as np
import pytest

from vizcache.compare.shards import MODULUS, Sampler, effective_rate, hash_ids, key_hash, sample_mask, sampled, scaled_budget


def test_hash_is_the_same_in_another_process():
    # Python's own str hash is salted per process; a live arm and an offline run must sample the same keys.
    code = "from vizcache.compare.shards import key_hash; print(key_hash('catalog-42'), key_hash(7))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert [int(x) for x in out] == [key_hash("catalog-42"), key_hash(7)]


def test_array_hash_equals_the_scalar_hash():
    ids = np.array([0, 1, 2, 2**40 + 3, 2**64 - 1], dtype=np.uint64)
    assert [int(h) for h in hash_ids(ids)] == [key_hash(int(i)) for i in ids]


@pytest.mark.parametrize("rate", [0.01, 0.1, 0.5])
def test_the_sampled_share_of_keys_is_the_rate(rate):
    hashes = hash_ids(np.arange(200_000))
    share = sample_mask(hashes, rate).mean()
    assert abs(share - rate) < 4 * np.sqrt(rate * (1 - rate) / 200_000)
    assert [sampled(int(h), rate) for h in hashes[:2000]] == list(sample_mask(hashes[:2000], rate))


def test_string_keys_sample_at_the_rate_and_the_filter_agrees():
    keys = [f"obj-{i}" for i in range(50_000)]
    sampler = Sampler(0.1)
    kept = [k for k in keys if sampler(k)]
    assert abs(len(kept) / len(keys) - 0.1) < 0.006
    assert all(sampled(key_hash(k), 0.1) for k in kept)


def test_budget_scales_by_the_rate_actually_sampled():
    assert effective_rate(0.01) == round(0.01 * MODULUS) / MODULUS
    assert scaled_budget(10**9, 0.01) == round(10**9 * effective_rate(0.01))
    assert Sampler(0.01).scaled_budget(10**9) == scaled_budget(10**9, 0.01)
    assert scaled_budget(1, 0.001) == 1 and Sampler(1.0)(object()) is True


@pytest.mark.parametrize("rate", [0, -0.1, 1.5])
def test_a_rate_outside_0_1_is_one_clear_error(rate):
    with pytest.raises(ValueError, match="give a fraction above 0 and at most 1"):
        Sampler(rate)
