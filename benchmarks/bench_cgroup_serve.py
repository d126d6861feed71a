"""`vizcache serve --num-procs 2` with limit = "auto" inside a memory cgroup, sessions switching through every catalog:
is any server process killed?

    .venv/bin/python benchmarks/bench_cgroup_serve.py [--limit 2GiB] [--num-procs 2] [--sessions 4] [--rounds 2]
                                                      [--data /tmp/vizcache-bench-default/data] [--json out.json]

Needs root and the cgroup v1 memory controller (/sys/fs/cgroup/memory): a child of this process's own memory
cgroup is made with ``memory.limit_in_bytes`` = ``--limit``, the server's shell moves itself into it, and
the cgroup is removed at the end. The data is the ``default`` preset (PZWAV, AMICO, BOTH and ~10.5M member
galaxies), generated into ``--data`` unless it is there. ``--sessions`` Chromium pages (Debian's chromium,
outside the cgroup) open the viewer; each round, every page clicks each catalog in turn (all pages click,
then each waits until its map's title names the catalog, at most 300 s). Measured: the cgroup's peak usage,
its OOM kills (``memory.oom_control``: ``oom_kill``), whether the worker processes that started are the ones
that end (Tornado restarts a killed fork under a new pid), each step's time and failures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
V1_MEMORY = Path("/sys/fs/cgroup/memory")
CATALOGS = ["PZWAV", "AMICO", "BOTH", "MEMBERS"]
CONFIG = """
[policy]
name = "RSSThresholdLRU"
limit = "auto"

[data]
folders = ["{data}"]

[catalogs.PZWAV]
files = "{data}/pzwav.parquet"

[catalogs.AMICO]
files = "{data}/amico.parquet"

[catalogs.BOTH]
files = "{data}/both.parquet"

[catalogs.MEMBERS]
files = "{data}/members/members-*.parquet"
kind = "members"

[viewer]
catalog = "BOTH"
"""
MAP_TITLE = """(() => {
if (!window.Bokeh || !Bokeh.documents.length) return null;
for (const m of Bokeh.documents[0].all_models)
  if (m.constructor.__name__ === 'Figure' && m.title && m.title.text
      && m.renderers.some(r => r.glyph && r.glyph.constructor.__name__ === 'Image' && r.data_source.data.image.length))
    return m.title.text;
return null;})()"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cgroup(limit: int) -> Path:
    own = next(line.split(":", 2)[2] for line in Path("/proc/self/cgroup").read_text().splitlines()
               if "memory" in line.split(":", 2)[1].split(","))
    group = V1_MEMORY / own.strip("/") / f"vizcache-bench-{uuid.uuid4().hex[:12]}"
    group.mkdir()
    (group / "memory.limit_in_bytes").write_text(str(limit))
    return group


def oom_kills(group: Path) -> int:
    fields = dict(line.split() for line in (group / "memory.oom_control").read_text().splitlines())
    return int(fields.get("oom_kill", -1))


def map_title(page) -> str | None:
    try:
        return page.evaluate(MAP_TITLE)
    except Exception:  # the page is reloading or its document is gone: not drawn
        return None


def wait_title(page, catalog: str, deadline: float, stop=lambda: False) -> bool:
    while time.monotonic() < deadline and not stop():
        title = map_title(page)
        if title and title.startswith(f"{catalog}:"):
            return True
        page.wait_for_timeout(200)
    return False


def run(args) -> dict:
    from playwright.sync_api import sync_playwright

    from vizcache.units import format_bytes, parse_bytes

    data = Path(args.data)
    if not (data / "members").is_dir():
        subprocess.run([sys.executable, "-m", "vizcache.cli", "generate", "--preset", "default", "--out", str(data)], check=True)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    config = work / "cgroup-bench.toml"
    config.write_text(CONFIG.format(data=data.resolve()))
    limit = parse_bytes(args.limit)
    group = make_cgroup(limit)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "VIZCACHE_PROCESSES"}
    log = (work / "server.log").open("w")
    server = subprocess.Popen(["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(group), sys.executable, "-m", "vizcache.cli",
                               "serve", "--config", str(config), "--port", str(port), "--num-procs", str(args.num_procs)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    steps, failures, result = [], [], {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/vizcache/metrics", timeout=60).read()
                break
            except OSError:
                time.sleep(0.5)
        workers = sorted(p.pid for p in psutil.Process(server.pid).children(recursive=True) if p.ppid() != server.pid)
        url = f"http://127.0.0.1:{port}/viewer"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            pages = [browser.new_context(viewport={"width": 1600, "height": 1000}).new_page() for _ in range(args.sessions)]
            start = time.monotonic()
            for page in pages:
                page.goto(url, timeout=300_000)
            for i, page in enumerate(pages):
                if not wait_title(page, "BOTH", time.monotonic() + 300):
                    failures.append(f"session {i}: first map not drawn")
            steps.append({"step": "open", "seconds": round(time.monotonic() - start, 2)})
            plan = [(r + 1, catalog) for r in range(args.rounds) for catalog in CATALOGS]
            for round_, catalog in plan:
                start = time.monotonic()
                for page in pages:
                    page.get_by_role("button", name=catalog, exact=True).click(timeout=60_000)
                deadline = time.monotonic() + 300
                drawn = [wait_title(page, catalog, deadline, stop=lambda: oom_kills(group) > 0) for page in pages]
                failures += [f"round {round_} {catalog}: session {i} not drawn" for i, ok in enumerate(drawn) if not ok]
                steps.append({"step": f"round {round_} {catalog}", "seconds": round(time.monotonic() - start, 2),
                              "cgroup_peak": format_bytes(int((group / "memory.max_usage_in_bytes").read_text()))})
                print(steps[-1], flush=True)
                if oom_kills(group) > 0:  # a killed worker's sessions are gone ("connection lost"): the run has its answer
                    failures.append(f"round {round_} {catalog}: {oom_kills(group)} server process(es) OOM-killed; run stopped")
                    break
            browser.close()
        alive = sorted(p.pid for p in psutil.Process(server.pid).children(recursive=True) if p.ppid() != server.pid)
        result = {
            "limit": args.limit, "num_procs": args.num_procs, "sessions": args.sessions, "rounds": args.rounds,
            "auto_limit_per_process": format_bytes(int(limit * 0.8) // args.num_procs),
            "peak_cgroup_usage": format_bytes(int((group / "memory.max_usage_in_bytes").read_text())),
            "failcnt": int((group / "memory.failcnt").read_text()), "oom_kills": oom_kills(group),
            "workers_at_start": workers, "workers_at_end": alive, "workers_replaced": sorted(set(workers) - set(alive)),
            "failures": failures, "steps": steps, "load_average": [round(x, 2) for x in os.getloadavg()],
        }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        log.close()
        deadline = time.monotonic() + 30
        while (group / "cgroup.procs").read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.2)
        group.rmdir()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", default="2GiB", help="the cgroup's memory limit (default 2GiB)")
    parser.add_argument("--num-procs", type=int, default=2, help="vizcache serve --num-procs (default 2)")
    parser.add_argument("--sessions", type=int, default=4, help="Chromium pages (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="times each page goes through every catalog (default 2)")
    parser.add_argument("--data", default="/tmp/vizcache-bench-default/data", help="the default preset's folder (generated if missing)")
    parser.add_argument("--work", default="/tmp/vizcache-bench-default/work", help="config, server log")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    if not (V1_MEMORY / "cgroup.procs").exists() or os.geteuid() != 0:
        sys.exit(f"needs root and the cgroup v1 memory controller at {V1_MEMORY}")
    result = run(args)
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
