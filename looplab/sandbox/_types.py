"""The sandbox protocol and its records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ExecResult", "Isolation", "Limits", "Sandbox"]

Isolation = Literal["docker", "bubblewrap", "none"]
"""How a program was isolated (``none``: the process backend, opt-in only)."""


class Limits(BaseModel):
    """Resource limits of one run. The defaults suit grading a HumanEval-sized program."""

    model_config = ConfigDict(frozen=True)

    timeout_s: float = Field(default=10.0, gt=0)
    """Wall-clock limit; the program (and in Docker its container) is killed after it."""
    memory_mb: int = Field(default=512, ge=16)
    """Memory limit (a cgroup limit in Docker, the address space elsewhere)."""
    cpus: float = Field(default=1.0, gt=0)
    """CPU share (Docker); elsewhere CPU time is capped at timeout + 1 s."""
    pids: int = Field(default=64, ge=4)
    """Most processes and threads at once."""
    output_bytes: int = Field(default=64 * 1024, ge=1024)
    """Bytes of stdout, and of stderr, kept; the rest is counted as truncated."""
    file_mb: int = Field(default=16, ge=1)
    """Largest file the program may write; also the size of the work directory."""


class ExecResult(BaseModel):
    """What running a program in a sandbox gave."""

    model_config = ConfigDict(frozen=True)

    stdout: str
    """Standard output (decoded as UTF-8, errors replaced), cut at the output limit."""
    stderr: str
    """Standard error, likewise."""
    exit_code: int
    """The exit status; 128 + N when a signal N ended it (137: killed)."""
    timed_out: bool = False
    """The wall-clock limit ended it."""
    oom_killed: bool = False
    """The memory limit ended it (cgroup OOM kill, or MemoryError under an address-space cap)."""
    output_truncated: bool = False
    """stdout or stderr was longer than the output limit."""
    duration_s: float = 0.0
    """Seconds the program ran."""
    isolation: Isolation = "docker"
    """Which backend ran it; ``none`` means the process backend, which is unisolated."""

    @property
    def ok(self) -> bool:
        """Exited 0 on its own."""
        return self.exit_code == 0 and not self.timed_out

    def summary(self) -> str:
        """One line: how the run ended."""
        if self.timed_out:
            state = "timed out"
        elif self.oom_killed:
            state = "killed: out of memory"
        else:
            state = f"exit {self.exit_code}"
        parts = [state, f"{self.duration_s:.2f} s"]
        if self.output_truncated:
            parts.append("output truncated")
        if self.isolation == "none":
            parts.append("UNISOLATED")
        return ", ".join(parts)


@runtime_checkable
class Sandbox(Protocol):
    """Runs untrusted code: a Python program, or a command, with files and stdin.

    ``run`` never raises for anything the program does; a ``SandboxError``
    means the sandbox itself failed.
    """

    isolation: Isolation

    def run(
        self,
        program: str | None = None,
        *,
        command: Sequence[str] | None = None,
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | bytes = b"",
        limits: Limits | None = None,
    ) -> ExecResult:
        """Run ``program`` with ``python3`` (or ``command``) in a fresh empty work directory."""
        ...

    async def arun(
        self,
        program: str | None = None,
        *,
        command: Sequence[str] | None = None,
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | bytes = b"",
        limits: Limits | None = None,
    ) -> ExecResult:
        """The async twin of ``run``."""
        ...

    def close(self) -> None:
        """Release what the backend holds (containers, ...)."""
        ...
