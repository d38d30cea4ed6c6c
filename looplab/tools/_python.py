"""The ``python`` tool: run the model's code in the sandbox and show what it printed."""

from __future__ import annotations

import threading

from looplab.errors import SandboxError, ToolError
from looplab.sandbox import Limits, Sandbox, make_sandbox
from looplab.tools._protocol import TextTool, ToolExample

__all__ = ["PythonTool"]


class PythonTool(TextTool):
    """Runs a Python program in the configured sandbox (``auto`` unless one is given)."""

    name = "python"
    description = (
        "Run a Python program in a sandbox (no network, no files kept). "
        "Print what you need to see: you get the exit status, stdout and stderr back."
    )
    examples = (
        ToolExample(
            "What is the sum of the squares of 1 to 10?",
            "print(sum(i * i for i in range(1, 11)))",
            "exit 0\n385",
            "The sum is 385.",
            "385",
        ),
    )

    def __init__(
        self,
        sandbox: Sandbox | None = None,
        *,
        backend: str = "auto",
        limits: Limits | None = None,
        budget: int = 2000,
    ) -> None:
        self._sandbox = sandbox
        self.backend = backend
        self.limits = limits or Limits(timeout_s=5.0)
        self.budget = budget
        self._lock = threading.Lock()

    @property
    def sandbox(self) -> Sandbox:
        """Built on first use, so listing tools needs no Docker."""
        with self._lock:
            if self._sandbox is None:
                try:
                    self._sandbox = make_sandbox(self.backend)
                except SandboxError as exc:
                    raise ToolError(f"no sandbox to run code in: {exc}") from exc
            return self._sandbox

    def call(self, text: str) -> str:
        try:
            result = self.sandbox.run(text, limits=self.limits)
        except SandboxError as exc:
            raise ToolError(str(exc)) from exc
        if result.timed_out:
            status = f"timed out after {self.limits.timeout_s:g} s"
        elif result.oom_killed:
            status = "killed: out of memory"
        else:
            status = f"exit {result.exit_code}"
        if result.isolation == "none":
            status += " (unisolated)"
        half = self.budget // 2
        parts = [status]
        if result.stdout:
            parts.append(_head(result.stdout.rstrip("\n"), half))
        if result.stderr:
            parts.append("stderr:\n" + _tail(result.stderr.rstrip("\n"), half))
        return "\n".join(parts)


def _head(text: str, budget: int) -> str:
    if len(text) <= budget:
        return text
    return f"{text[:budget]}\n[... {len(text) - budget} more characters cut]"


def _tail(text: str, budget: int) -> str:
    """The end matters in a traceback: keep it."""
    if len(text) <= budget:
        return text
    return f"[... {len(text) - budget} characters cut]\n{text[-budget:]}"
