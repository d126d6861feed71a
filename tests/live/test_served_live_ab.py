"""Truth on a real server: `vizcache serve` in a subprocess, sessions opened over HTTP, /vizcache/metrics read, and the
server's own trace replayed through `vizcache simulate`: each shadow's hit ratio is the simulator's at the same budget."""

import json
import re
import shutil
import signal
import subprocess
import sys
from urllib.parse import quote

import pytest

from tests.cli_run import vizcache
from tests.viewer.test_server_security import fetch

from ..ports import free_port, wait_for_port
from ..viewer.conftest import viewer_data  # noqa: F401  (the session-wide small data set)

#: shadow label -> the model `vizcache simulate` prints it under
SIMULATE_LABELS = {"lru": "lru", "rss-lru": "RSSThresholdLRU", "s3fifo": "RSSThresholdLRU s3fifo", "sieve": "RSSThresholdLRU sieve",
                   "legacy-rss": "LegacyRSSManager"}
#: a catalog name and a file name that would forge a metric or a label if they reached the exposition
FORGED = 'vizcache_shadow_hit_ratio{policy="forged",budget="1"} 1'
FILE = 'label="forged"} 9 #'
CONFIG = f"""
[policy]
name = "SizeEstimatedLRU"
budget = "12MiB"

[data]
folders = ["data"]

[catalogs.PZWAV]
files = "data/small/pzwav.parquet"

[catalogs.AMICO]
files = "data/small/amico.parquet"

[catalogs.BOTH]
files = "data/small/both.parquet"

[catalogs.{json.dumps(FORGED)}]
files = {json.dumps(f"data/live-hostile/{FILE}.parquet")}

[trace]
path = "traces/live.jsonl"

[viewer]
title = "live viewer"
catalog = "BOTH"
"""
#: the catalogs the sessions open, in order: repeats (hits) and returns after others (what the budget decides)
SESSIONS = ["PZWAV", "AMICO", "PZWAV", FORGED, "BOTH", "AMICO", "PZWAV", FORGED, "AMICO", "BOTH", "BOTH", "PZWAV", FORGED, "AMICO"]


@pytest.fixture
def served(viewer_data, tmp_path):  # noqa: F811
    (viewer_data / "data" / "live-hostile").mkdir(exist_ok=True)  # its own folder: other tests read the shared data folder
    shutil.copy(viewer_data / "data" / "small" / "amico.parquet", viewer_data / "data" / "live-hostile" / f"{FILE}.parquet")
    config = viewer_data / f"live-{tmp_path.name}.toml"
    config.write_text(CONFIG)
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "vizcache.cli", "serve", "--config", str(config), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}", viewer_data / "traces" / "live.jsonl"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    log.close()


def metric_values(text: str, name: str) -> dict[tuple, float]:
    """``{(label values...): value}`` of every sample of ``name``."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            labels, value = line[len(name):].rsplit(" ", 1)
            out[tuple(re.findall(r'="((?:[^"\\]|\\.)*)"', labels))] = float(value)
    return out


def test_shadows_on_a_served_viewer_equal_vizcache_simulate_on_its_trace(served):
    base, trace = served
    trace.unlink(missing_ok=True)  # the recorder appends: this server's requests only
    pages = []
    for name in SESSIONS:
        status, _, page = fetch(f"{base}/viewer?catalog={quote(name)}")
        assert status == 200 and "live viewer" in page
        pages.append(page)
    status, headers, text = fetch(f"{base}/vizcache/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")

    # every line is a comment or `name{labels} value`: nothing a catalog, file or session put there
    for line in text.splitlines():
        assert line.startswith("# ") or re.fullmatch(r'vizcache_[a-z_]+(\{[a-z_]+="[^"\n]*"(,[a-z_]+="[^"\n]*")*\})? \S+', line), line
    assert "forged" not in text and "parquet" not in text and "PZWAV" not in text and str(trace.parent.parent) not in text
    sessions = {s for page in pages for s in re.findall(r'[A-Za-z0-9]{40,}', page)}  # Bokeh's session ids and tokens
    assert sessions and not any(s in text for s in sessions)

    counters = {name: metric_values(text, f"vizcache_{name}_total")[()] for name in ("hits", "misses", "loads")}
    assert counters["hits"] + counters["misses"] >= len(SESSIONS) and counters["loads"] >= 4
    assert metric_values(text, "vizcache_load_seconds_count")[()] == counters["loads"]
    assert metric_values(text, "vizcache_memory_bytes")[("limit",)] == 12 * 2**20
    shadows = metric_values(text, "vizcache_shadow_hit_ratio")
    requests = metric_values(text, "vizcache_shadow_requests_total")
    budgets = {budget for _, budget in shadows}
    assert budgets == {str(12 * 2**20)}  # the configured size budget
    assert {policy for policy, _ in shadows} == {"rss-lru", "getsizeof", "legacy-rss", "lru", "s3fifo", "sieve"}

    rows = [json.loads(line) for line in trace.read_text().splitlines()]  # the scrape flushed the trace
    unsized = metric_values(text, "vizcache_shadow_unsized_requests_total")[()]
    assert len(rows) == requests[("lru", budgets.pop())] + unsized
    proc = vizcache("simulate", trace, "--budgets", str(12 * 2**20), "--json")
    assert proc.returncode == 0, proc.stderr
    simulated = json.loads(proc.stdout)
    assert simulated["requests"] == len(rows) - unsized
    for label, model in SIMULATE_LABELS.items():
        assert shadows[(label, str(12 * 2**20))] == pytest.approx(simulated["policies"][model]["hit_ratio"][0], abs=1e-12), label
    assert 0 < shadows[("lru", str(12 * 2**20))] < 1  # first loads miss; BOTH twice in a row hits
