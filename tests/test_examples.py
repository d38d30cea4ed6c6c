"""Every example runs out of the box on the embedded model (a real subprocess each)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from looplab.sandbox import available_backends

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
REQUIRED = os.environ.get("LOOPLAB_REQUIRE_SANDBOX") == "1"


def run_example(name: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_math_agent():
    out = run_example("math_agent.py", "What is 46 times 7?")
    assert "attempt 0:" in out and "calc(46*7) = 322" in out and "stop:" in out


def test_code_repair_agent():
    backend = "auto" if any(r is None for r in available_backends().values()) else None
    if backend is None:
        if REQUIRED:
            pytest.fail("LOOPLAB_REQUIRE_SANDBOX=1 but no isolated sandbox is usable")
        pytest.skip(reason="no isolated sandbox here (Docker or bubblewrap)")
    out = run_example("code_repair_agent.py", "--backend", backend)
    assert "attempt 0: visible tests" in out and "hidden test (grading only):" in out


def test_tool_critic():
    out = run_example("tool_critic.py", "What is 93 times 4?")
    assert "critic checked" in out and "stop:" in out


def test_two_backends():
    out = run_example("two_backends.py")
    assert "generator: llama.cpp:" in out and "critic:    openai:smollm2@http://127.0.0.1:" in out


def test_custom_graph():
    out = run_example("custom_graph.py")
    assert out.count("attempt(s), stop:") == 3
