"""The process backend: a plain subprocess with resource limits. NOT isolated.

It can read every file the user can and reach the network. It exists for
machines with neither Docker nor bubblewrap, runs only when named
explicitly, and every result it gives says ``isolation="none"``.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from looplab.sandbox._base import OUTER_GRACE_S, RunnerSandbox, encode, runner_env
from looplab.sandbox._runner import ONE_SHOT
from looplab.sandbox._types import Limits

__all__ = ["ProcessSandbox", "rlimits_for"]


def rlimits_for(limits: Limits, *, address_space: bool = True) -> dict[str, int]:
    """The POSIX resource limits that approximate ``limits`` without cgroups."""
    values = {
        "RLIMIT_CPU": math.ceil(limits.timeout_s) + 1,
        "RLIMIT_FSIZE": limits.file_mb * 1024 * 1024,
        "RLIMIT_NOFILE": 256,
        "RLIMIT_CORE": 0,
    }
    if address_space:
        values["RLIMIT_AS"] = limits.memory_mb * 1024 * 1024
    return values


class ProcessSandbox(RunnerSandbox):
    """Runs the program as a subprocess of this one, in a fresh temporary directory.

    Limits: CPU time, address space, file size, open files; the environment is
    scrubbed; the program's whole session is killed afterwards. Not a security
    boundary.
    """

    isolation = "none"

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self._parents: dict[str, str] = {}

    def _workdir(self) -> str:
        parent = tempfile.mkdtemp(prefix="looplab-sandbox-")
        workdir = os.path.join(parent, "work")
        self._parents[workdir] = parent
        return workdir

    def _rlimits(self, limits: Limits) -> dict[str, int]:
        values = rlimits_for(limits)
        if os.geteuid() != 0:  # root ignores RLIMIT_NPROC
            values["RLIMIT_NPROC"] = _processes_of_this_user() + limits.pids
        return values

    def _execute(self, request: dict, limits: Limits) -> bytes | None:
        workdir = request["workdir"]
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", ONE_SHOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=runner_env(workdir),
        )
        try:
            out, _ = proc.communicate(encode(request), timeout=limits.timeout_s + OUTER_GRACE_S)
            return out
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None
        finally:
            shutil.rmtree(self._parents.pop(workdir, workdir), ignore_errors=True)


def _processes_of_this_user() -> int:
    uid = os.getuid()
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count
