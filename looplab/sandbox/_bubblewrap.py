"""The bubblewrap backend: Linux namespaces, no daemon, ~40 ms to start.

Every namespace is unshared (so there is no network), the system directories
are bound read-only, the work directory and /tmp are fresh size-capped
tmpfs mounts, the sandbox dies with its parent, runs in a new session, and
as nobody: when looplab runs as root, bwrap itself is started as uid 65534
so that the process limit applies to an unprivileged user. Resource limits
are POSIX rlimits (address space, CPU time, processes, file size).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

from looplab.errors import SandboxError
from looplab.sandbox._base import OUTER_GRACE_S, RunnerSandbox, encode
from looplab.sandbox._process import rlimits_for
from looplab.sandbox._runner import RUNNER_SOURCE
from looplab.sandbox._types import Limits

__all__ = ["BubblewrapSandbox", "bubblewrap_available"]

NOBODY = 65534
WORKDIR = "/work"
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc/alternatives")
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime")


def bubblewrap_available() -> str | None:
    """Why bubblewrap cannot be used here, or None if it can."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap is not installed (apt-get install bubblewrap)"
    if not os.path.exists("/usr/bin/python3"):
        return "no /usr/bin/python3 to run inside bubblewrap (apt-get install python3)"
    try:
        probe = subprocess.run(
            [bwrap, *_bwrap_args(Limits()), "true"],
            capture_output=True,
            timeout=10,
            **_as_nobody(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap does not start: {exc}"
    if probe.returncode != 0:
        reason = " ".join(probe.stderr.decode(errors="replace").split())[:160]
        return f"bwrap cannot create its namespaces: {reason}"
    return None


def _as_nobody() -> dict:
    if os.geteuid() == 0:
        return {"user": NOBODY, "group": NOBODY, "extra_groups": []}
    return {}


def _bwrap_args(limits: Limits) -> list[str]:
    size = str(limits.file_mb * 1024 * 1024)
    # fmt: off
    args = [
        "--unshare-all", "--die-with-parent", "--new-session",
        "--uid", str(NOBODY), "--gid", str(NOBODY), "--hostname", "sandbox",
    ]
    for path in (*_SYSTEM_DIRS, *_SYSTEM_FILES):
        args += ["--ro-bind-try", path, path]
    args += [
        "--proc", "/proc", "--dev", "/dev",
        "--size", size, "--perms", "1777", "--tmpfs", WORKDIR,
        "--size", size, "--perms", "1777", "--tmpfs", "/tmp",
        "--remount-ro", "/",  # bwrap's own root is a tmpfs: make it read-only too
        "--chdir", WORKDIR, "--clearenv", "--setenv", "PATH", "/usr/bin:/bin",
    ]
    # fmt: on
    return args


class BubblewrapSandbox(RunnerSandbox):
    """Runs each program in its own set of fresh namespaces."""

    isolation = "bubblewrap"
    kill_all = True  # the runner is alone in its PID namespace

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxError("bubblewrap is not installed: apt-get install bubblewrap")
        self.bwrap = bwrap

    def _workdir(self) -> str:
        return f"{WORKDIR}/run"

    def _rlimits(self, limits: Limits) -> dict[str, int]:
        values = rlimits_for(limits)
        values["RLIMIT_NPROC"] = limits.pids
        return values

    def _execute(self, request: dict, limits: Limits) -> bytes | None:
        argv = [
            self.bwrap,
            *_bwrap_args(limits),
            "/usr/bin/python3",
            "-I",
            "-S",
            "-c",
            RUNNER_SOURCE,
        ]
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env={"PATH": "/usr/bin:/bin"},
            **_as_nobody(),
        )
        try:
            out, err = proc.communicate(encode(request), timeout=limits.timeout_s + OUTER_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None
        if proc.returncode != 0 and not out.strip():
            reason = " ".join(err.decode(errors="replace").split())[-300:]
            raise SandboxError(f"bubblewrap failed (exit {proc.returncode}): {reason}")
        return out
