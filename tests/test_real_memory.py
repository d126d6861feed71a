"""Real allocations, real RSS: about 3x the limit of payloads cycled through each policy."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.memory
MiB = 2**20
SCRIPT = Path(__file__).with_name("real_memory_workload.py")


def run(policy, headroom_mib=300, payload_mib=40, keys=10, rounds=3):
    proc = subprocess.run([sys.executable, str(SCRIPT), policy, str(headroom_mib), str(payload_mib), str(keys), str(rounds)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_rss_lru_keeps_peak_rss_under_the_limit():
    r = run("rss")
    total_loaded = r["loads"] * 40 * MiB
    assert total_loaded >= 3 * (r["limit"] - r["base"])  # about 3x the limit's headroom went through
    assert r["high"] + 40 * MiB <= r["limit"]  # the condition under which the bound must hold
    assert r["peak"] <= r["limit"], f"peak {r['peak'] / MiB:.0f} MiB over limit {r['limit'] / MiB:.0f} MiB"
    assert r["evictions"] > 0 and r["bytes_reclaimed"] > 20 * r["evictions"] * MiB  # evictions really gave memory back


def test_getsizeof_budget_overshoots_and_deep_does_not():
    old = run("getsizeof")
    deep = run("deep")
    assert old["entries"] == 10 and old["evictions"] == 0  # dict-of-arrays "weigh" ~200 bytes each
    assert old["peak"] > old["limit"] + 50 * MiB  # the old overshoot
    assert deep["entries"] <= 5 and deep["evictions"] > 0
    assert deep["peak"] <= deep["limit"]
