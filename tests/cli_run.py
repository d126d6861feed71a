"""Running the `vizcache` command as a user would, and reading the one error line it must give."""

from __future__ import annotations

import subprocess
import sys


def vizcache(*args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vizcache.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The error a bad input got: rc 2, no traceback, one line starting "vizcache: error: "."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vizcache: error: "), proc.stderr
    return lines[0]
