"""Grading a program against test code, HumanEval's way: ``check(candidate)``.

The program, then the test code, then ``check(ENTRY_POINT)`` run as one
script. Passing needs exit status 0 *and* a marker printed after the check
with a nonce the program cannot know in advance, so code that calls
``sys.exit(0)`` or ``os._exit(0)`` before the tests run does not pass.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from looplab.sandbox._types import ExecResult, Limits, Sandbox

__all__ = ["CheckResult", "acheck_program", "check_program", "grading_script"]


@dataclass(frozen=True)
class CheckResult:
    """Whether a program passed its tests, and why not."""

    passed: bool
    detail: str
    """Empty when passed; else the failing assertion or the traceback's end, or the status."""
    result: ExecResult


def grading_script(program: str, test: str, entry_point: str, nonce: str) -> str:
    return f"{program}\n\n{test}\n\ncheck({entry_point})\nprint({('LOOPLAB-PASSED-' + nonce)!r})\n"


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


def _last_error(stderr: str, lines: int = 6) -> str:
    """The end of a traceback: where it failed and the exception line."""
    kept = [line for line in stderr.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def check_program(
    sandbox: Sandbox, program: str, test: str, entry_point: str, *, limits: Limits | None = None
) -> CheckResult:
    """Run ``test`` against ``program``; passed iff ``check(entry_point)`` completes."""
    nonce = secrets.token_hex(8)
    result = sandbox.run(grading_script(program, test, entry_point, nonce), limits=limits)
    return _verdict(result, nonce)


async def acheck_program(
    sandbox: Sandbox, program: str, test: str, entry_point: str, *, limits: Limits | None = None
) -> CheckResult:
    """The async twin of ``check_program``."""
    nonce = secrets.token_hex(8)
    result = await sandbox.arun(grading_script(program, test, entry_point, nonce), limits=limits)
    return _verdict(result, nonce)
