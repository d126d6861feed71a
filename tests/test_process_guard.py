"""The suite-wide guard (tests/conftest.py) fails a test that leaves a process running, orphans included."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

INNER = '''
import subprocess, sys, time

def test_clean():
    subprocess.run([sys.executable, "-c", "pass"], check=True)

def test_leaves_a_child():
    subprocess.Popen(["sleep", "60"])

def test_leaves_an_orphan():
    # the shell exits at once; its background sleep is re-parented (to pytest, the subreaper)
    subprocess.run(["sh", "-c", "sleep 61 &"], check=True)
'''


def test_guard_fails_tests_that_leave_processes_and_kills_them(tmp_path):
    (tmp_path / "conftest.py").write_text("from tests.conftest import no_leftover_processes, pytest_configure  # noqa: F401\n")
    (tmp_path / "test_inner.py").write_text(INNER)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path)],
                            capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                            timeout=300)
    out = result.stdout
    assert result.returncode == 1, out
    assert "3 passed, 2 errors" in out, out  # the calls pass; their teardowns fail
    assert "ERROR at teardown of test_leaves_a_child" in out and "sleep 60" in out, out
    assert "ERROR at teardown of test_leaves_an_orphan" in out and "sleep 61" in out, out
    check = subprocess.run(["pgrep", "-f", "^sleep 6[01]$"], capture_output=True, text=True)
    assert check.stdout == "", "the guard did not kill what it found"
