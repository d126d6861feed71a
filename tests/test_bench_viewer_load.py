"""benchmarks/bench_viewer_load.py with two server processes, run briefly: sessions ended are counted per
server process from the viewer's log, and no server process is left once it ends."""

import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.ui  # it drives one real chromium page per level


def server_processes() -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(p.info["cmdline"] or [])
        if "panel serve" in cmdline.replace("-m panel serve", "panel serve") and "vizcache-load-" in cmdline:
            found.append(p)
    return found


def test_two_processes_count_their_ended_sessions_and_leave_nothing_running():
    assert server_processes() == []
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_viewer_load.py"), "--sessions", "4", "--num-procs", "2",
                          "--switches", "1", "--zooms", "1", "--open-over", "2", "--preset", "small"],
                         capture_output=True, text=True, timeout=900, cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    row = re.search(r"^\| 4 \|.*\| (\d+)/4 \| (\d+) \|$", out, re.MULTILINE)
    assert row, out
    # Every websocket session ended, no error; the level's one Chromium page is a session too and may end in time.
    assert row[1] in ("4", "5") and row[2] == "0", out
    per_process = re.search(r"sessions ended per server process: \{(.*)\}", out)
    counts = {int(k): int(v) for k, v in re.findall(r"(\d+): (\d+)", per_process[1])}
    # Counted from every process's own line (which process the kernel hands a connection to is its choice).
    assert sum(counts.values()) == int(row[1]) and 1 <= len(counts) <= 2, out
    assert "server processes left after the run: 0" in out
    assert server_processes() == []  # checked here too, with psutil
