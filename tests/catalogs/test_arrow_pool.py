"""Processes vizcache starts read Parquet without Arrow's C++ default pool (mimalloc), which keeps
what the reader's page buffers freed in RSS (docs/performance.md, "A load's peak")."""

import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from vizcache.compare import runner
from vizcache.memory import loading_process_environment

from .test_readers import clusters_frame

READ = """
import sys
from pathlib import Path
import pyarrow as pa
from vizcache.catalogs.readers import read_source_batches
from vizcache.memory import prepare_process_memory
prepare_process_memory()
for _ in read_source_batches(Path(sys.argv[1]), "parquet", ["RIGHT_ASCENSION_CLUSTER", "DECLINATION_CLUSTER"]):
    pass
print(pa.mimalloc_memory_pool().max_memory())
"""


def mimalloc_bytes_while_reading(path, env) -> int:
    out = subprocess.run([sys.executable, "-c", READ, str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.strip().splitlines()[-1])


def test_a_loading_process_reads_parquet_through_the_system_allocator(tmp_path):
    path = tmp_path / "c.parquet"
    pq.write_table(pa.Table.from_pandas(clusters_frame(50_000, seed=3), preserve_index=False), path)
    inherited = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    assert mimalloc_bytes_while_reading(path, inherited) > 0  # without it, the reader's pages go to mimalloc
    assert mimalloc_bytes_while_reading(path, loading_process_environment(inherited)) == 0


def test_a_pool_the_user_chose_is_kept():
    assert loading_process_environment({"ARROW_DEFAULT_MEMORY_POOL": "jemalloc"})["ARROW_DEFAULT_MEMORY_POOL"] == "jemalloc"
    assert loading_process_environment({})["ARROW_DEFAULT_MEMORY_POOL"] == "system"


def test_compares_workers_get_the_system_allocator(monkeypatch, tmp_path):
    started = []

    class Recorded:
        returncode = 0

        def __init__(self, args, **kwargs):
            started.append(kwargs.get("env"))

        def communicate(self):
            return "", ""

    monkeypatch.setattr(runner.subprocess, "Popen", Recorded)
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    assert runner._subprocess(["--help"]) == (0, "")
    assert started[0]["ARROW_DEFAULT_MEMORY_POOL"] == "system" and started[0]["PATH"] == os.environ["PATH"]
