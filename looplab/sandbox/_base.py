"""What every backend shares: checking a run's inputs into one request, and for
the backends that start the runner, the reading of its answer.

``SandboxBase`` turns ``run(program | command, files=, stdin=, limits=)`` into
a request (``_result`` carries it out). ``RunnerSandbox`` is for backends that
start the runner (``looplab.sandbox._runner``) inside their isolation: they send it the
request and return what it printed (``_execute``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import marshal
import posixpath
import secrets
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from looplab.errors import SandboxError
from looplab.sandbox._types import ExecResult, Isolation, Limits

__all__ = [
    "OUTER_GRACE_S",
    "RunnerSandbox",
    "answer_record",
    "SandboxBase",
    "encode",
    "new_run_id",
    "parse_answer",
    "runner_env",
]

OUTER_GRACE_S = 10.0
"""How long past the program's own timeout a backend waits for the runner's answer."""

PROGRAM_FILE = "main.py"


def runner_env(home: str) -> dict[str, str]:
    """The whole environment the program sees: nothing of the host's."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
        # glibc reserves 64 MB of address space per thread arena: under an
        # address-space limit, a few threads would exhaust it before using any.
        "MALLOC_ARENA_MAX": "2",
    }


class SandboxBase(ABC):
    """Base of the backends: checks a run's inputs and builds its request."""

    isolation: Isolation = "none"
    kill_all = False
    """Kill every other process in the namespace after a run (true where the runner
    shares a PID namespace with nothing but the sandbox itself)."""
    scratch: tuple[str, ...] = ()
    forget_ipc = False
    """True where the runner's IPC namespace outlives a run (a warm container): a run
    that leaves any SysV or POSIX message-queue object there is reported unhealthy, so
    its container is discarded, not reused."""
    """Writable directories that outlive a run (a reused container's /tmp): emptied after
    each run, and a run that leaves something there the runner cannot remove makes the
    sandbox unhealthy, so it is not reused."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    # -- what a backend provides -------------------------------------------------
    @abstractmethod
    def _workdir(self) -> str:
        """The fresh work directory of one run, as the runner will see it."""

    @abstractmethod
    def _rlimits(self, limits: Limits) -> dict[str, int]:
        """The POSIX resource limits the runner sets on the program."""

    @abstractmethod
    def _result(self, request: dict, limits: Limits) -> ExecResult:
        """Carry out one checked request (its fields: see ``looplab.sandbox._runner``)."""

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release what the backend holds; nothing by default."""

    # -- shared ------------------------------------------------------------------
    def run(
        self,
        program: str | None = None,
        *,
        command: Sequence[str] | None = None,
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | bytes = b"",
        limits: Limits | None = None,
    ) -> ExecResult:
        limits = limits or self.limits
        if (program is None) == (command is None):
            raise ValueError("give exactly one of program and command")
        all_files = dict(files or {})
        for name in all_files:
            if (
                name.startswith("/")
                or ".." in name.split("/")
                or "\x00" in name
                or posixpath.normpath(name) == "."
            ):
                raise SandboxError(
                    f"file name {name!r} must be a relative path inside the work dir"
                )
        if program is not None:
            all_files[PROGRAM_FILE] = program
            argv = ["python3", PROGRAM_FILE]
        else:
            argv = list(command or ())
        workdir = self._workdir()
        request = {
            "workdir": workdir,
            "files": {name: _bytes(data) for name, data in all_files.items()},
            "argv": argv,
            "env": runner_env(workdir),
            "stdin": _bytes(stdin),
            "timeout": limits.timeout_s,
            "output_limit": limits.output_bytes,
            "rlimits": self._rlimits(limits),
            "kill_all": self.kill_all,
            "scratch": list(self.scratch),
            "forget_ipc": self.forget_ipc,
            "tag": secrets.token_hex(16),
        }
        return self._result(request, limits)

    async def arun(
        self,
        program: str | None = None,
        *,
        command: Sequence[str] | None = None,
        files: Mapping[str, str | bytes] | None = None,
        stdin: str | bytes = b"",
        limits: Limits | None = None,
    ) -> ExecResult:
        return await asyncio.to_thread(
            self.run, program, command=command, files=files, stdin=stdin, limits=limits
        )


class RunnerSandbox(SandboxBase):
    """A backend that starts the runner inside its isolation and reads its answer."""

    @abstractmethod
    def _execute(self, request: dict, limits: Limits) -> bytes | None:
        """Start the runner, send ``encode(request)``, return its stdout; None if it never
        answered in time."""

    def _result(self, request: dict, limits: Limits) -> ExecResult:
        answer = self._execute(request, limits)
        if answer is None:
            return ExecResult(
                stdout="",
                stderr="",
                exit_code=137,
                timed_out=True,
                duration_s=limits.timeout_s,
                isolation=self.isolation,
            )
        return self._parse(answer, request["tag"])

    def _parse(self, answer: bytes, tag: str) -> ExecResult:
        return parse_answer(answer, tag, self.isolation)


def answer_record(answer: bytes, tag: str) -> dict:
    """The runner's one JSON line in its output: the line after the last ``tag``. Whatever
    else is there (a line a program forged through /proc/PPID/fd/1, or a half line meant
    to corrupt the real one) is ignored; no such line, or not a JSON object, raises
    ``ValueError``. Its ``healthy`` says the runner left nothing running or behind."""
    start = answer.rfind(tag.encode("ascii"))
    if start < 0:
        raise ValueError("no result line")
    record = json.loads(answer[start + len(tag) :].split(b"\n", 1)[0])
    if not isinstance(record, dict):
        raise ValueError("the result line is not an object")
    return record


def parse_answer(answer: bytes, tag: str, isolation: Isolation) -> ExecResult:
    """The run's result, from the runner's record (``answer_record``); an answer with no
    usable record raises ``SandboxError``."""
    try:
        data = answer_record(answer, tag)
        return ExecResult(
            stdout=base64.b64decode(data["stdout"]).decode("utf-8", errors="replace"),
            stderr=base64.b64decode(data["stderr"]).decode("utf-8", errors="replace"),
            exit_code=data["exit_code"],
            timed_out=data["timed_out"],
            oom_killed=data["oom_killed"],
            output_truncated=data["truncated"],
            duration_s=data["duration"],
            isolation=isolation,
        )
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        tail = answer[-300:].decode("utf-8", errors="replace")
        raise SandboxError(f"the {isolation} sandbox's runner gave no result: {tail!r}") from exc


def encode(request: dict) -> bytes:
    """The runner's request, as it reads it: marshal (built in, so free to import there)."""
    return marshal.dumps(request)


def _bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def new_run_id() -> str:
    """A short random id naming one run's work directory."""
    return uuid.uuid4().hex[:12]
