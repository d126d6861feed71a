"""limit = "auto" inside a real cgroup v1 memory limit: `vizcache serve --num-procs 2` gives each server process
80 % of the cgroup's limit / 2, as each reports at /vizcache/metrics and `vizcache info` explains."""

import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest

from vizcache.viewer.serve_command import group_running

from .ports import free_port, wait_for_port
from .viewer.conftest import CONFIG, make_config, viewer_data  # noqa: F401  (the session-wide small data set)
from .waiting import wait_until

V1_MEMORY = Path("/sys/fs/cgroup/memory")
LIMIT = 2 * 2**30
SHARE = int(LIMIT * 0.8) // 2


@pytest.fixture
def memory_cgroup():
    """A child of this process's own v1 memory cgroup, limited to 2 GiB; removed after the test."""
    if not (V1_MEMORY / "cgroup.procs").exists():
        pytest.skip(f"no cgroup v1 memory controller mounted at {V1_MEMORY}")
    own = next((line.split(":", 2)[2] for line in Path("/proc/self/cgroup").read_text().splitlines()
                if "memory" in line.split(":", 2)[1].split(",")), "/")
    parent = V1_MEMORY / own.strip("/")
    if not os.access(parent, os.W_OK):
        pytest.skip(f"the cgroup v1 memory controller is there, but {parent} is not writable (creating a cgroup needs root)")
    group = parent / f"vizcache-test-{uuid.uuid4().hex[:12]}"
    group.mkdir()
    try:
        (group / "memory.limit_in_bytes").write_text(str(LIMIT))
        yield group
    finally:
        wait_until(lambda: not (group / "cgroup.procs").read_text().strip(), timeout=30, message=f"{group} emptied")
        group.rmdir()


def in_cgroup(group: Path, *command: str) -> list[str]:
    """``command`` run by a shell that first moves itself into ``group``: the command and every process it forks are in it."""
    return ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(group), *command]


def scrape_limit(port: int) -> int:
    """The policy's limit as the process that answered reports it (a new connection each time: either process may answer)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/vizcache/metrics", timeout=60) as response:
        text = response.read().decode()
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith('vizcache_memory_bytes{kind="limit"}')))


def test_vizcache_info_explains_the_share_inside_the_cgroup(memory_cgroup):
    env = {k: v for k, v in os.environ.items() if k != "VIZCACHE_PROCESSES"} | {"VIZCACHE_PROCESSES": "2"}
    info = subprocess.run(in_cgroup(memory_cgroup, sys.executable, "-m", "vizcache.cli", "info"), env=env, capture_output=True,
                          text=True, check=True).stdout
    assert "cgroup limit:      2.00 GiB" in info
    assert 'limit "auto":      819.20 MiB (80 % of the 2.00 GiB cgroup limit / 2 processes)' in info


def test_serve_num_procs_2_gives_each_process_its_share_of_the_cgroup_limit(memory_cgroup, viewer_data, tmp_path):  # noqa: F811
    config = make_config(viewer_data, f"auto-{tmp_path.name}.toml",
                         CONFIG.replace('name = "AgeBased"\nmax_age = 3600\nmax_idle = 3600', 'name = "RSSThresholdLRU"\nlimit = "auto"'))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "VIZCACHE_PROCESSES"}
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(in_cgroup(memory_cgroup, sys.executable, "-m", "vizcache.cli", "serve", "--config", str(config),
                                      "--port", str(port), "--num-procs", "2"), env=env, stdout=log, stderr=subprocess.STDOUT)
    group = None
    try:
        wait_for_port(port, timeout=120)
        servers = wait_until(lambda: len(found := psutil.Process(proc.pid).children(recursive=True)) == 3 and found, timeout=60,
                             message="panel serve and its two forked workers")
        group = os.getpgid(servers[0].pid)
        workers = [p for p in servers if p.ppid() != proc.pid]
        assert len(workers) == 2
        in_group = set(map(int, (memory_cgroup / "cgroup.procs").read_text().split()))
        assert {proc.pid, *(p.pid for p in servers)} <= in_group
        assert all(p.environ()["VIZCACHE_PROCESSES"] == "2" for p in workers)  # what --num-procs 2 told them
        limits = [scrape_limit(port) for _ in range(12)]
        assert limits == [SHARE] * 12, limits  # 80 % of 2 GiB / 2 = 819.2 MiB, whichever process answered
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        log.close()
    assert group is not None
    wait_until(lambda: not group_running(group), timeout=15, message="the server's process group gone")
