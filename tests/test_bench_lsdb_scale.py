"""benchmarks/bench_lsdb_scale.py's pieces on a small HATS catalog: LSDB's counts on a real LocalCluster equal
pyarrow's, and the cost line it projects from is the least-squares one."""

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from vizcache.catalogs.generate import generate
from vizcache.cli import main

from .catalogs.conftest import write_config

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_lsdb_scale.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_lsdb_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def members_hats(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lsdb-scale")
    data = generate(folder / "small", "small", seed=9)
    shutil.copytree(f"{data.out_dir}/members", folder / "data" / "members")
    config = write_config(folder / "c.toml", '[catalogs.MEMBERS]\nfiles = "data/members/*.parquet"\nkind = "members"\n')
    assert main(["partition", str(config), "MEMBERS", "--out", str(folder / "hats"), "--max-rows", "3000",
                 "--highest-order", "6", "--threads", "1"]) == 0
    return folder / "hats"


def test_lsdb_counts_on_a_local_cluster_equal_pyarrow_counts(bench, members_hats):
    from distributed import Client, LocalCluster

    every = bench.partitions(members_hats)
    assert len(every) > 3 and all(rows > 0 for _, _, rows in every)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, Client(cluster):
        for chosen in (every[:2], every):
            run = bench.measure(members_hats, chosen, (180.0, 0.0))
            expected = bench.direct_count(members_hats, chosen)
            assert run["count"] == run["density_total"] == expected > 0
            assert set(run["times"]) == {"open", "filtered count", "density", "cone"}


def test_the_cost_line_is_the_least_squares_line(bench):
    rows = [1e6, 2e6, 4e6, 8e6]
    a, b, residuals = bench.fit_line(rows, [0.5 + 2e-7 * r for r in rows])
    assert a == pytest.approx(0.5) and b == pytest.approx(2e-7) and np.allclose(residuals, 0, atol=1e-9)
    a, b, residuals = bench.fit_line([1.0, 2.0, 3.0], [1.0, 3.0, 2.0])
    assert (a, b) == (pytest.approx(1.0), pytest.approx(0.5)) and sum(residuals) == pytest.approx(0.0, abs=1e-12)
