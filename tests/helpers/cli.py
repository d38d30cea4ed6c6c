"""The looplab command in a child process, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``looplab ARGS`` with its output captured; wide enough that the summaries' tables
    do not fold their headers."""
    return subprocess.run(
        [sys.executable, "-m", "looplab.cli", *args],
        capture_output=True,
        text=True,
        timeout=1500,
        env={**os.environ, "COLUMNS": "220"},
    )
