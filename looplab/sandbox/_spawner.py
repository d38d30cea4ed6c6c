"""A small process that starts bwrap for the bubblewrap backend, so a run costs little
whatever the size of the process that asks.

Starting bwrap straight from looplab would cost a ``fork`` of looplab itself
(the resource limits and, as root, the switch to nobody rule out ``vfork``):
~1.3 ms at 40 MB, ~6.5 ms at 540 MB, measured here, and an eval process
holding a model is bigger still. The spawner is a bare interpreter, one per
sandbox, single-threaded (so setting limits between ``fork`` and ``exec`` is
safe); as root it switches each run to that run's own uid before ``exec``
(so RLIMIT_NPROC, which counts a uid's processes, is per run), else it runs
as the caller. looplab sends it, over a socket pair, the argv,
the resource limits and the descriptors the run needs (stdin, stdout,
stderr, bwrap's status pipe, one memfd per file, in that order: they become
descriptors 0, 1, 2, 3, 4, ... of bwrap); it answers with a pidfd of the
bwrap it started, which looplab uses to kill it at the timeout. It exits
when looplab closes its end, and never runs model-written code itself.
"""

from __future__ import annotations

import marshal
import socket
import subprocess
import threading
from collections.abc import Sequence

from looplab.errors import SandboxError

__all__ = ["SPAWNER_SOURCE", "Spawner"]

SPAWNER_SOURCE = r"""
import marshal, os, resource, signal, socket, sys

signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps what we start
# ...and what it leaves: bwrap's own helper processes outlive it, and would otherwise be
# zombies of PID 1 until it reaps them, counted against nobody's process limit meanwhile.
import ctypes
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
channel = socket.socket(fileno=int(sys.argv[1]))

def start(argv, limits, ids, fds):
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # an ignored SIGCHLD would survive exec
    os.setsid()
    for i, fd in enumerate(fds):  # first out of the way, then to 0, 1, 2, ...
        os.dup2(fd, 1000 + i)
    for i in range(len(fds)):
        os.dup2(1000 + i, i)
    os.closerange(len(fds), 1000 + len(fds))
    for name, value in limits:
        resource.setrlimit(getattr(resource, name), (value, value))
    if ids is not None:  # the run's own uid: RLIMIT_NPROC counts per uid, so per run
        os.setgroups([])
        os.setgid(ids[1])
        os.setuid(ids[0])
    os.execve(argv[0], argv, {"PATH": "/usr/bin:/bin"})

while True:
    try:
        message, fds, _, _ = socket.recv_fds(channel, 1 << 20, 256)
    except OSError:
        break
    if not message:
        break  # looplab closed its end
    argv, limits, ids = marshal.loads(message)
    try:
        pid = os.fork()
    except OSError as exc:
        channel.send(marshal.dumps("cannot fork: %s" % exc))
        pid = None
    if pid == 0:
        try:
            start(argv, limits, ids, fds)
        except BaseException as exc:
            os.write(2, ("cannot start %s: %s\n" % (argv[0], exc)).encode())
        os._exit(127)
    for fd in fds:
        os.close(fd)
    if pid:
        pidfd = os.pidfd_open(pid)
        socket.send_fds(channel, [marshal.dumps(pid)], [pidfd])
        os.close(pidfd)
"""
"""The spawner's program (``python3 -I -S -c SPAWNER_SOURCE FD``): stdlib only, and it
never runs model-written code; its processes' command lines show it whole."""


class Spawner:
    """The host side: ``spawn(argv, limits, fds)`` starts argv and returns its pidfd."""

    def __init__(self, python: str, **popen_options: object) -> None:
        self._python = python
        self._popen_options = popen_options
        self._lock = threading.Lock()
        self._channel: socket.socket | None = None
        self._process: subprocess.Popen | None = None

    def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self._process = subprocess.Popen(
                [self._python, "-I", "-S", "-c", SPAWNER_SOURCE, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env={"PATH": "/usr/bin:/bin"},
                start_new_session=True,
                **self._popen_options,  # type: ignore[arg-type]
            )
        self._channel = ours
        return ours

    def spawn(
        self,
        argv: Sequence[str],
        limits: dict[str, int],
        fds: Sequence[int],
        ids: tuple[int, int] | None = None,
    ) -> int:
        """Start ``argv`` with ``fds`` as its descriptors 0, 1, 2, ... under ``limits``
        (rlimit names to values), as ``ids`` (uid, gid) when given (a spawner started as
        root); the pidfd of the started process (the caller closes it)."""
        message = marshal.dumps((list(argv), sorted(limits.items()), ids))
        with self._lock:
            for attempt in range(2):  # a spawner that died is started again, once
                channel = self._channel or self._start()
                try:
                    socket.send_fds(channel, [message], list(fds))
                    answer, pidfds, _, _ = socket.recv_fds(channel, 4096, 1)
                except OSError:
                    answer, pidfds = b"", []
                if answer:
                    break
                self._stop()
                if attempt:
                    raise SandboxError("the bubblewrap spawner process died")
        if not pidfds:
            raise SandboxError(f"the bubblewrap spawner failed: {marshal.loads(answer)}")
        return pidfds[0]

    def _stop(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def close(self) -> None:
        with self._lock:
            self._stop()
