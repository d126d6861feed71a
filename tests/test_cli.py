"""The vizcache command, run as a user runs it: a real process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def vizcache(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "vizcache.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_info_reports_limit_probe_and_policies():
    proc = vizcache("info")
    assert proc.returncode == 0
    assert "via statm" in proc.stdout and "registered policies: AgeBased, LegacyRSSManager, RSSThresholdLRU, SizeEstimatedLRU" in proc.stdout


def test_generate_then_catalog_info(tmp_path):
    proc = vizcache("generate", "--preset", "small", "--out", tmp_path / "d", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    assert "members:" in proc.stdout and "total:" in proc.stdout
    config = tmp_path / "c.toml"
    config.write_text('[data]\nfolders = ["d"]\n[catalogs.BOTH]\nfiles = "d/both.parquet"\n[catalogs.M]\nfiles = "d/members/*.parquet"\nkind = "members"\n')
    info = json.loads(vizcache("catalog-info", config, "BOTH", "--json").stdout)
    assert info["rows"] > 1000 and info["columns"]["ra"]["source"] == "RIGHT_ASCENSION_CLUSTER"
    assert info["ra_extent"][0] > info["ra_extent"][1]  # the equatorial patch crosses RA 0
    assert 0 < info["z_range"][0] < info["z_range"][1] < 3 and info["memory_bytes"] > 0
    text = vizcache("catalog-info", config, "M").stdout
    assert "M (members, pandas)" in text and "cluster_id <- ID_UNIQUE_CLUSTER" in text


@pytest.mark.parametrize(("args", "message"), [
    (["catalog-info", "{cfg}", "NOPE"], "no catalog 'NOPE'; configured catalogs: BOTH"),
    (["catalog-info", "{cfg}", "BOTH"], "file not found"),
])
def test_catalog_info_errors_are_one_line(tmp_path, args, message):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[catalogs.BOTH]\nfiles = "missing.parquet"\n')
    proc = vizcache(*[a.format(cfg=cfg) for a in args])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr


def test_crossmatch_two_configured_catalogs(tmp_path):
    assert vizcache("generate", "--preset", "small", "--out", tmp_path / "d", "--seed", "3").returncode == 0
    config = tmp_path / "c.toml"
    config.write_text('[data]\nfolders = ["d"]\n[catalogs.PZWAV]\nfiles = "d/pzwav.parquet"\n'
                      '[catalogs.AMICO]\nfiles = "d/amico.parquet"\n')
    proc = vizcache("crossmatch", config, "PZWAV", "AMICO", "--radius", "180", "--dz", "0.15")
    assert proc.returncode == 0, proc.stderr
    head = proc.stdout.splitlines()[0]
    assert head.startswith("PZWAV (") and " matched, " in head and "radius 180 arcsec" in head
    assert "| z bin | completeness (AMICO found in PZWAV) | purity (PZWAV matched in AMICO) |" in proc.stdout
    wrong = vizcache("crossmatch", config, "PZWAV", "NOPE")
    assert wrong.returncode == 2 and wrong.stderr.strip().endswith("no catalog 'NOPE'; configured catalogs: PZWAV, AMICO")
    bad = vizcache("crossmatch", config, "PZWAV", "AMICO", "--radius", "-1")
    assert bad.returncode == 2 and "-1 is not allowed: use a number above 0" in bad.stderr


def test_the_catalogs_package_imports_nothing_of_the_cache_the_config_or_the_apps():
    """The catalogs wing is I/O and sky geometry: every import in it, at any depth of a function,
    names the standard library, a third-party package or another catalogs module."""
    import ast
    from pathlib import Path

    import vizcache.catalogs

    outside = []
    for path in Path(vizcache.catalogs.__path__[0]).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level > 1 or (node.module or "").startswith("vizcache")):
                outside.append(f"{path.name}: from {'.' * node.level}{node.module or ''}")
            elif isinstance(node, ast.Import):
                outside += [f"{path.name}: import {a.name}" for a in node.names if a.name.startswith("vizcache")]
    assert outside == []


def test_a_reader_that_leaves_early_ends_simulate_quietly():
    # `vizcache simulate TRACE | head -1`: the pipe closes before the output is written
    trace = Path(__file__).resolve().parents[1] / "benchmarks" / "traces" / "viewer_zipf_47.jsonl"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "vizcache.cli", "simulate", str(trace)], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write_end)
    assert done.returncode == 141 and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
