"""A full disk, for real: a small tmpfs mounted for the test. One line naming the path, no partial file left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .cli_run import one_error_line


@pytest.fixture
def small_disk(tmp_path):
    """Mounts a tmpfs of the given size (as mount's size=, e.g. "100k"); unmounted after the test."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
        folder = tmp_path / f"disk-{size}"
        folder.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs: {proc.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=True)


def vizcache(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vizcache.cli", *map(str, args)], capture_output=True, text=True, timeout=300)


def everything_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_generate_on_a_full_disk_is_one_line_and_leaves_nothing(small_disk):
    disk = small_disk("1m")
    line = one_error_line(vizcache("generate", "--preset", "small", "--out", disk / "data"))
    assert f"{disk / 'data'}: cannot write the data set" in line and "no space left" in line.lower()
    assert everything_in(disk) == []


def test_generate_on_a_full_disk_keeps_the_previous_set_whole(small_disk, tmp_path):
    disk = small_disk("1m")
    old = disk / "data"
    (old / "members").mkdir(parents=True)
    for name in ("pzwav.parquet", "members/members-00000.parquet", "manifest.json"):
        (old / name).write_text(f"old {name}")
    before = {p: p.read_text() for p in old.rglob("*") if p.is_file()}
    line = one_error_line(vizcache("generate", "--preset", "small", "--out", old))
    assert "no space left" in line.lower()
    assert {p: p.read_text() for p in old.rglob("*") if p.is_file()} == before
    assert everything_in(disk) == sorted(str(p.relative_to(disk)) for p in [old, *old.rglob("*")])


def test_export_trace_on_a_full_disk_is_one_line_and_leaves_no_partial_csv(small_disk, tmp_path):
    disk = small_disk("100k")
    trace = tmp_path / "t.jsonl"
    rows = ({"t": i * 0.01, "key": f"partition-{i % 5000}", "hit": False, "load_s": 0.1, "bytes": 4096 + i} for i in range(20_000))
    trace.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = disk / "t.csv"
    line = one_error_line(vizcache("export-trace", trace, out))
    assert line == f"vizcache: error: cannot write {out}: No space left on device"
    assert everything_in(disk) == []
