"""Real memory: a load's freed transient memory must not count as what its value holds."""

import json
import platform
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.memory  # each child allocates ~130 MB
MiB = 2**20

CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    from vizcache import Cache, LegacyRSSManager, RSSThresholdLRU
    from vizcache.memory import RSSProbe

    def loader():
        transient = [np.ones(7_500) for _ in range(2_000)]  # 120 MB in 60 KB heap chunks, touched
        keep = np.ones(7_500)  # allocated after them: it pins the top of the heap
        del transient  # freed, but glibc keeps the pages below the pinned top
        return (np.ones(10 * 2**20 // 8), keep)

    probe = RSSProbe()
    if sys.argv[1] == "legacy":
        policy = LegacyRSSManager(limit="1TiB")
    else:  # high water 60 MiB above now: the untrimmed load crosses it
        policy = RSSThresholdLRU(limit=int((probe() + 60 * 2**20) / 0.8), high_water=0.8, low_water=0.7)
    cache = Cache(policy, rss_probe=probe)
    cache.get_or_load("catalog", loader)
    entry = cache.entries()[0]
    print(json.dumps({"delta": entry["rss_delta_bytes"], "kept": "catalog" in cache}))
""")


def child(kind: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, kind], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's heap keeps freed pages until malloc_trim: what this test relies on")
def test_rss_policy_measures_what_the_value_holds_not_the_loads_transient_memory():
    legacy, ours = child("legacy"), child("rss")
    assert legacy["delta"] > 100 * MiB  # untrimmed: the freed 120 MB still counts (the old fix's view)
    assert ours["kept"] and 8 * MiB < ours["delta"] < 20 * MiB  # trimmed first: ~10 MB held
