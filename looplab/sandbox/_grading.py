"""Grading a program against test code, HumanEval's way: ``check(candidate)``.

The tests run in a harness process of their own (``looplab.sandbox.harness_program``)
and call the program, which runs in another process, through a proxy that
passes only plain values. Passing needs the harness's exit status 0 *and*
its marker, printed after ``check`` returns, with a nonce the program never
sees. So nothing the program can do passes a test it fails: exiting early,
printing the marker, returning an object equal to everything, patching
builtins, hooking ``atexit`` or ``sys.excepthook``, or tracing the harness.
The hidden tests never enter the program's process or its files.
"""

from __future__ import annotations

import marshal
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from looplab.sandbox._types import ExecResult, Limits, Sandbox

__all__ = [
    "CheckResult",
    "acheck_program",
    "check_from_asserts",
    "check_program",
    "context_from_prompt",
]


@dataclass(frozen=True)
class CheckResult:
    """Whether a program passed its tests, and why not."""

    passed: bool
    detail: str
    """Empty when passed; else the failing assertion or the traceback's end, or the status."""
    result: ExecResult


@cache
def _harness_source() -> str:
    return Path(__file__).with_name("harness_program.py").read_text(encoding="utf-8")


HARNESS_FILE = "harness.py"
HARNESS_COMMAND = ("python3", "-I", HARNESS_FILE)
"""The harness in isolated mode: no script directory, working directory, PYTHONPATH or
user site on sys.path. The program can write files where the harness runs; with -I none
of them can shadow a module the harness, its context or its tests import (``linecache``
when a test fails, ``typing`` for HumanEval's prompts), now or later in the run."""


def _job(program: str, test: str, entry_point: str, context: str) -> tuple[dict, bytes, str]:
    """The sandbox run's files and stdin, and the nonce of its pass marker."""
    nonce = secrets.token_hex(16)
    stdin = marshal.dumps(
        {"test": test, "entry_point": entry_point, "context": context, "nonce": nonce}, 4
    )
    return {HARNESS_FILE: _harness_source(), "solution.py": program}, stdin, nonce


def _verdict(result: ExecResult, nonce: str) -> CheckResult:
    marker = f"LOOPLAB-PASSED-{nonce}"
    if result.ok and marker in result.stdout:
        return CheckResult(True, "", result)
    if result.timed_out:
        detail = "timed out"
    elif result.oom_killed:
        detail = "out of memory"
    elif result.exit_code == 0:
        detail = "exited before the tests ran"
    else:
        detail = _last_error(result.stderr) or f"exit {result.exit_code}"
    return CheckResult(False, detail, result)


def _last_error(stderr: str, lines: int = 12) -> str:
    """The end of a traceback: where the tests failed, the exception line, and where the
    program raised it."""
    kept = [line for line in stderr.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def context_from_prompt(prompt: str) -> str:
    """A task's prompt as the tests' trusted context when it is Python (HumanEval's is:
    imports, helpers and the entry point's signature), else nothing."""
    try:
        compile(prompt, "prompt", "exec")
    except (SyntaxError, ValueError):
        return ""
    return prompt


def check_program(
    sandbox: Sandbox,
    program: str,
    test: str,
    entry_point: str,
    *,
    context: str = "",
    limits: Limits | None = None,
) -> CheckResult:
    """Run ``test`` against ``program``; passed iff ``check(entry_point)`` completes.

    ``context`` is trusted code the tests may use, run before them in the harness:
    a HumanEval prompt's imports and helpers (``poly``, ``encode_cyclic``)."""
    files, stdin, nonce = _job(program, test, entry_point, context)
    result = sandbox.run(command=HARNESS_COMMAND, files=files, stdin=stdin, limits=limits)
    return _verdict(result, nonce)


async def acheck_program(
    sandbox: Sandbox,
    program: str,
    test: str,
    entry_point: str,
    *,
    context: str = "",
    limits: Limits | None = None,
) -> CheckResult:
    """The async twin of ``check_program``."""
    files, stdin, nonce = _job(program, test, entry_point, context)
    result = await sandbox.arun(command=HARNESS_COMMAND, files=files, stdin=stdin, limits=limits)
    return _verdict(result, nonce)


def check_from_asserts(asserts: list[str], entry_point: str, setup: str = "") -> str:
    """``def check(candidate)`` from assert lines that call the function by its own name
    (MBPP's tests, tests a model wrote): the name is bound to the candidate first, then
    ``setup`` (imports the asserts need) runs, then the asserts."""
    body = [f"{entry_point} = candidate", *setup.strip().splitlines(), *asserts]
    return "def check(candidate):\n" + "".join(f"    {line}\n" for line in body if line.strip())
