"""The bubblewrap backend: Linux namespaces, no daemon, one interpreter a run.

Every namespace is unshared (so there is no network), the system directories
are bound read-only, the work directory and /tmp are fresh size-capped
tmpfs mounts, the sandbox dies with its parent, runs in a new session, and
as nobody inside. When looplab runs as root, bwrap itself is started as a uid
of its own for each run (leased from ``RUN_UIDS`` with a lock file, across
processes): RLIMIT_NPROC counts every process of a uid on the host, so with
one shared uid a program that forks up to its limit made concurrent,
separate sandboxes fail to start. As another user, every run is that user. Resource limits
are POSIX rlimits (address space, CPU time, processes, file size), set on
bwrap by the spawner (``looplab.sandbox._spawner``) that starts it.

Unlike the Docker backend, nothing runs inside the sandbox but the program:
the runner's work is done here, on the host. The files arrive through
``--file FD`` (one memfd each), stdin and the capped outputs are pipes read
by this process, the timeout kills bwrap (and with it the namespace), and
the exit status comes from bwrap's ``--json-status-fd``, which the program
cannot reach. So a run costs one bwrap and one interpreter start.

The program is PID 1 of its namespace (``--as-pid-1``): bwrap's own init
would otherwise be there, as the program's uid, and a program could ptrace
it and write its memory, and so report any exit status. Being PID 1 has two
consequences a program may notice: a signal it sends itself without a
handler is ignored (as for any PID 1; ``abort()`` still ends it, with 139),
and orphans of its own children stay zombies until it exits. Whatever it
leaves running dies with it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import posixpath
import secrets
import selectors
import shutil
import signal
import subprocess
import threading
import time
from functools import cache

from looplab.errors import SandboxError
from looplab.sandbox._base import SandboxBase
from looplab.sandbox._process import rlimits_for
from looplab.sandbox._spawner import Spawner
from looplab.sandbox._types import ExecResult, Limits

__all__ = ["BubblewrapSandbox", "bubblewrap_available"]

NOBODY = 65534
RUN_UIDS = range(1_600_000_000, 1_600_000_000 + 4096)
"""Host uids (and gids) a run is started as, one per concurrent run, when looplab is
root: no account has them, and each has its own process count."""
UID_LOCKS = "/run/looplab-sandbox-uids"
"""Where a run's uid is leased: a lock file per uid, held (flock) for the run."""
WORKDIR = "/work"
PYTHON = "/usr/bin/python3"
"""Runs the spawner; nobody may not be able to reach looplab's own interpreter."""
MAX_FILES = 240
"""Files a run may bring: each is a descriptor passed to bwrap in one message (the
kernel passes at most 253)."""
_CHUNK = 65536
_DRAIN_S = 2.0
"""How long past the program's exit (or its timeout) the outputs may take to close."""


def bubblewrap_available() -> str | None:
    """Why bubblewrap cannot be used here, or None if it can."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap is not installed (apt-get install bubblewrap)"
    if not os.path.exists(PYTHON):
        return f"no {PYTHON} to run inside bubblewrap (apt-get install python3)"
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


@cache
def _system_mounts() -> tuple[str, ...]:
    """/usr read-only, and the top-level directories a merged-/usr system links into
    it as the same links (a link costs bwrap less than a bind mount)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for path in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in ("/etc/alternatives", "/etc/ld.so.cache", "/etc/localtime"):
        args += ["--ro-bind-try", path, path]
    return tuple(args)


def _bwrap_args(limits: Limits) -> list[str]:
    size = str(limits.file_mb * 1024 * 1024)
    # fmt: off
    return [
        "--unshare-all", "--die-with-parent", "--new-session", "--as-pid-1",
        "--uid", str(NOBODY), "--gid", str(NOBODY), "--hostname", "sandbox",
        *_system_mounts(),
        "--proc", "/proc", "--dev", "/dev",
        "--size", size, "--perms", "1777", "--tmpfs", WORKDIR,
        "--size", size, "--perms", "1777", "--tmpfs", "/tmp",
    ]
    # fmt: on


def _file_args(files: dict[str, bytes], first_fd: int) -> tuple[list[str], list[int]]:
    """bwrap options that create ``files`` in the work directory, and the memfds they
    read from (the caller closes them), which bwrap will see as ``first_fd``, the next..."""
    args: list[str] = []
    fds: list[int] = []
    made: set[str] = set()
    try:
        for name, data in files.items():
            parent = posixpath.dirname(posixpath.normpath(name))
            parts = parent.split("/") if parent else []
            for depth in range(1, len(parts) + 1):
                directory = "/".join(parts[:depth])
                if directory not in made:
                    made.add(directory)
                    args += ["--dir", f"{WORKDIR}/{directory}"]
            fd = os.memfd_create("looplab-file")
            fds.append(fd)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.lseek(fd, 0, os.SEEK_SET)
            args += ["--perms", "0644", "--file", str(first_fd + len(fds) - 1), f"{WORKDIR}/{name}"]
    except OSError:
        for fd in fds:
            os.close(fd)
        raise
    return args, fds


class _RunUid:
    """A host uid of one run's own, leased until ``release`` (None when not root)."""

    def __init__(self) -> None:
        self.ids: tuple[int, int] | None = None
        self._fd: int | None = None
        if os.geteuid() != 0:
            return
        os.makedirs(UID_LOCKS, mode=0o700, exist_ok=True)
        start = secrets.randbelow(len(RUN_UIDS))  # spread the search over the range
        for offset in range(len(RUN_UIDS)):
            uid = RUN_UIDS[(start + offset) % len(RUN_UIDS)]
            fd = os.open(f"{UID_LOCKS}/{uid}", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.ids, self._fd = (uid, uid), fd
            return
        raise SandboxError(f"all {len(RUN_UIDS)} sandbox uids are in use")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


class BubblewrapSandbox(SandboxBase):
    """Runs each program in its own set of fresh namespaces."""

    isolation = "bubblewrap"

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxError("bubblewrap is not installed: apt-get install bubblewrap")
        self.bwrap = bwrap
        # as root the spawner stays root, to start each run as its own uid
        self._spawner = Spawner(PYTHON)

    def _workdir(self) -> str:
        return WORKDIR

    def _rlimits(self, limits: Limits) -> dict[str, int]:
        values = rlimits_for(limits)
        values["RLIMIT_NPROC"] = limits.pids
        return values

    def _result(self, request: dict, limits: Limits) -> ExecResult:
        if len(request["files"]) > MAX_FILES:
            raise SandboxError(f"at most {MAX_FILES} files a run on bubblewrap")
        stdin_read, stdin_write = os.pipe()
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        status_read, status_write = os.pipe()
        file_args, file_fds = _file_args(request["files"], first_fd=4)
        env_args = [arg for item in request["env"].items() for arg in ("--setenv", *item)]
        argv = [
            self.bwrap,
            *_bwrap_args(limits),
            *file_args,
            "--remount-ro", "/",  # bwrap's own root is a tmpfs: make it read-only too
            "--chdir", WORKDIR,
            "--clearenv", *env_args,
            "--json-status-fd", "3",
            *request["argv"],
        ]  # fmt: skip
        started = time.monotonic()
        run_uid = _RunUid()
        try:
            pidfd = self._spawner.spawn(
                argv,
                request["rlimits"],
                (stdin_read, out_write, err_write, status_write, *file_fds),
                run_uid.ids,
            )
        except BaseException:
            run_uid.release()
            for fd in (stdin_write, out_read, err_read, status_read):
                os.close(fd)
            raise
        finally:
            for fd in (stdin_read, out_write, err_write, status_write, *file_fds):
                os.close(fd)
        try:
            outputs, truncated, timed_out = _communicate(
                pidfd,
                stdin_write,
                request["stdin"],
                {"out": out_read, "err": err_read, "status": status_read},
                request["output_limit"],
                started + request["timeout"],
            )
        finally:
            # the uid is free only once nothing of the run is left: released when bwrap
            # has exited, in the background (the result does not wait for the teardown)
            threading.Thread(target=_release_after_exit, args=(pidfd, run_uid), daemon=True).start()
        duration = time.monotonic() - started
        status = _json_lines(outputs["status"])
        err = outputs["err"]
        if "child-pid" not in status and not timed_out:
            reason = " ".join(err.decode(errors="replace").split())[-300:]
            raise SandboxError(f"bubblewrap failed: {reason}")
        if timed_out:
            code = 137
        elif "exit-code" in status:
            code = status["exit-code"]
        elif b"bwrap: execvp" in err:
            code = 127  # the command does not exist: as a shell says it
        else:
            reason = " ".join(err.decode(errors="replace").split())[-300:]
            raise SandboxError(f"bubblewrap ended without the program's status: {reason}")
        return ExecResult(
            stdout=outputs["out"].decode("utf-8", errors="replace"),
            stderr=err.decode("utf-8", errors="replace"),
            exit_code=code,
            timed_out=timed_out,
            # no cgroup here: the address-space limit shows as a MemoryError
            oom_killed=code != 0 and b"MemoryError" in err[-2000:],
            output_truncated=truncated,
            duration_s=min(duration, request["timeout"]) if timed_out else duration,
            isolation=self.isolation,
        )

    def close(self) -> None:
        self._spawner.close()


def _release_after_exit(pidfd: int, run_uid: _RunUid, timeout_s: float = 5.0) -> None:
    """Once the process behind ``pidfd`` (bwrap) has exited -- killed if it lingers: its
    namespace, and every process of the run, ends with it -- release the run's uid."""
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(pidfd, selectors.EVENT_READ)  # readable once it has exited
            if not selector.select(1.0):
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                selector.select(timeout_s)
    finally:
        os.close(pidfd)
        run_uid.release()


def _json_lines(data: bytes) -> dict:
    """bwrap's status: one JSON object a line ({"child-pid": N}, then {"exit-code": N})."""
    merged: dict = {}
    for line in data.splitlines():
        try:
            merged.update(json.loads(line))
        except (ValueError, TypeError):
            continue
    return merged


def _communicate(
    pidfd: int, stdin_fd: int, stdin: bytes, pipes: dict[str, int], limit: int, deadline: float
) -> tuple[dict[str, bytes], bool, bool]:
    """Feed ``stdin`` and read ``pipes`` until all of them close, keeping at most
    ``limit`` bytes of each (draining the rest); at the deadline, kill the process
    behind ``pidfd``. Closes every descriptor it is given but the pidfd.
    Returns (what each pipe gave, truncated, timed_out)."""
    names = {fd: name for name, fd in pipes.items()}
    kept = {fd: bytearray() for fd in names}
    pending = memoryview(stdin)
    truncated = timed_out = False
    with selectors.DefaultSelector() as selector:
        for fd in names:
            selector.register(fd, selectors.EVENT_READ)
        if pending:
            os.set_blocking(stdin_fd, False)
            selector.register(stdin_fd, selectors.EVENT_WRITE)
        else:
            os.close(stdin_fd)
            stdin_fd = -1
        try:
            while selector.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    if timed_out:
                        break  # killed, yet something holds a pipe: stop waiting
                    timed_out = True
                    with contextlib.suppress(ProcessLookupError):
                        signal.pidfd_send_signal(pidfd, signal.SIGKILL)  # the namespace dies too
                    deadline = time.monotonic() + _DRAIN_S
                    continue
                for key, _ in selector.select(left):
                    if key.fd == stdin_fd:
                        try:
                            pending = pending[os.write(stdin_fd, pending[:_CHUNK]) :]
                        except OSError:
                            pending = pending[:0]  # the program closed its stdin: not our error
                        if not pending:
                            selector.unregister(stdin_fd)
                            os.close(stdin_fd)
                            stdin_fd = -1
                        continue
                    chunk = os.read(key.fd, _CHUNK)
                    if not chunk:
                        selector.unregister(key.fd)
                        continue
                    room = limit - len(kept[key.fd])
                    if room > 0:
                        kept[key.fd] += chunk[:room]
                    if len(chunk) > max(room, 0) and names[key.fd] != "status":
                        truncated = True
        finally:
            for fd in (*names, stdin_fd):
                if fd >= 0:
                    os.close(fd)
    return {names[fd]: bytes(data) for fd, data in kept.items()}, truncated, timed_out
