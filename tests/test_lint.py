"""ruff over the package, with the rules in pyproject.toml: CI fails on a finding."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff() -> str:
    found = Path(sys.executable).parent / "ruff"  # the venv's, installed with the test extra
    return str(found) if found.exists() else shutil.which("ruff")


def test_ruff_finds_nothing_in_the_package():
    done = subprocess.run([ruff(), "check", "--no-cache", "vizcache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_runs_the_projects_rules(tmp_path):
    # the same command on a file with an unused import and an unsorted block must fail
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nimport os\n")
    done = subprocess.run([ruff(), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "F401" in done.stdout and "I001" in done.stdout
