"""The Docker backend: hardened containers kept warm in a pool.

Every container is created with no network, a read-only root filesystem,
size- and inode-capped tmpfs mounts for the work directory, /tmp and
/dev/shm, memory = swap limit, a CPU share, a pids limit, no-new-privileges,
and every capability dropped but the five its supervisor needs. The
supervisor (``looplab.sandbox._runner.SUPERVISOR``) is the container's PID 1,
running as root; looplab keeps its stdin and stdout attached and sends it
one request at a time. For each it forks the program as nobody (which drops
every capability: the program can neither signal, trace nor write to the
supervisor) in a fresh directory under /work, collects its result, kills
what it left running and empties the scratch mounts. So a warm run costs
one interpreter start, not a ``docker exec`` and two. A run that times out,
hits the memory limit or leaves any doubt ends its container, and a fresh
one takes its place.

Containers carry labels naming their owner process; those of owners that are
gone are removed when a sandbox starts, so a killed run leaves nothing
behind for long. ``close`` (also called at exit) removes the pool.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import struct
import threading
import time
from typing import Any

from looplab.errors import SandboxError
from looplab.sandbox._base import (
    OUTER_GRACE_S,
    RunnerSandbox,
    answer_record,
    encode,
    new_run_id,
)
from looplab.sandbox._runner import SUPERVISOR
from looplab.sandbox._types import Limits

__all__ = ["DEFAULT_IMAGES", "BUILT_IMAGE", "DockerSandbox", "docker_available", "reap_orphans"]

BUILT_IMAGE = "looplab-sandbox:bookworm"
"""The tag ``looplab sandbox build-image`` gives the image it builds offline."""
DEFAULT_IMAGES = ("python:3.12-slim", BUILT_IMAGE)
"""Tried in order when no image is named: the first one present locally is used."""
LABEL = "looplab.sandbox"
OWNER_LABEL = "looplab.owner"
NOBODY = 65534
SUPERVISOR_CAPS = ["SETUID", "SETGID", "KILL", "DAC_OVERRIDE", "FOWNER"]
"""What the supervisor needs: to become nobody for each program, to kill what it leaves,
and to remove what it wrote. The programs keep none of them."""
_INODES = 16384
"""Files and directories a run may create in each writable mount."""


def docker_client(timeout: float = 30) -> Any:
    import docker

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:  # the SDK raises several unrelated types for "no engine"
        raise SandboxError(
            "no Docker engine reachable (install docker.io and start dockerd): "
            + " ".join(str(exc).split())[:120]
        ) from exc
    return client


def _owner_token(pid: int) -> str | None:
    """pid plus its start time, so a reused pid is not mistaken for the owner."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            start = f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None
    return f"{socket.gethostname()}:{pid}:{start}"


def reap_orphans(client: Any) -> int:
    """Remove looplab containers whose owner process on this host is gone."""
    removed = 0
    host = socket.gethostname()
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        owner = container.labels.get(OWNER_LABEL, "")
        owner_host, _, rest = owner.partition(":")
        pid_text = rest.partition(":")[0]
        if owner_host != host or not pid_text.isdigit():
            continue
        if _owner_token(int(pid_text)) != owner:
            try:
                container.remove(force=True)
                removed += 1
            except Exception:  # already gone: that is what we wanted
                pass
    return removed


def docker_available(image: str | None = None) -> str | None:
    """Why the Docker backend cannot be used here, or None if it can."""
    try:
        client = docker_client(timeout=5)
    except SandboxError as exc:
        return str(exc)
    try:
        _pick_image(client, image)
    except SandboxError as exc:
        return str(exc)
    finally:
        client.close()
    return None


def _pick_image(client: Any, image: str | None) -> str:
    import docker.errors

    for candidate in (image,) if image else DEFAULT_IMAGES:
        try:
            client.images.get(candidate)
            return candidate
        except docker.errors.ImageNotFound:
            continue
    names = image or " or ".join(DEFAULT_IMAGES)
    raise SandboxError(
        f"no sandbox image {names} on this Docker engine: docker pull it, "
        "or build one offline with `looplab sandbox build-image`"
    )


class DockerSandbox(RunnerSandbox):
    """Hardened containers with a warm pool (``pool_size`` kept ready per set of limits)."""

    isolation = "docker"
    kill_all = True  # every process in the container but PID 1 belongs to a run
    scratch = ("/tmp", "/dev/shm", "/work")  # the writable mounts a reused container keeps
    forget_ipc = True  # its IPC namespace too: a run that leaves an object there ends it

    def __init__(
        self, limits: Limits | None = None, *, image: str | None = None, pool_size: int = 2
    ) -> None:
        super().__init__(limits)
        self.client = docker_client()
        self.image = _pick_image(self.client, image)
        self.pool_size = pool_size
        self._owner = _owner_token(os.getpid()) or f"{socket.gethostname()}:{os.getpid()}:?"
        self._idle: dict[tuple, list[Any]] = {}
        self._lock = threading.Lock()
        self._closed = False
        reap_orphans(self.client)
        atexit.register(self.close)
        with self._lock:
            self._idle[self._key(self.limits)] = [self._create(self.limits)]

    # -- the pool ---------------------------------------------------------------
    @staticmethod
    def _key(limits: Limits) -> tuple:
        return (limits.memory_mb, limits.cpus, limits.pids, limits.file_mb)

    def _create(self, limits: Limits) -> _Warm:
        # Inodes are capped too: a tmpfs's inodes are kernel memory charged to the
        # container, and a program creating files without end would otherwise starve
        # the supervisor of memory before it fills the size cap.
        size = f"size={limits.file_mb}m,nr_inodes={_INODES},mode=1777,exec"
        try:
            container = self.client.containers.run(
                self.image,
                command=["python3", "-I", "-S", "-c", SUPERVISOR],
                detach=True,
                stdin_open=True,
                network_mode="none",
                read_only=True,
                tmpfs={"/work": size, "/tmp": size, "/dev/shm": size},
                mem_limit=f"{limits.memory_mb}m",
                memswap_limit=f"{limits.memory_mb}m",
                nano_cpus=int(limits.cpus * 1e9),
                pids_limit=limits.pids,
                cap_drop=["ALL"],
                cap_add=SUPERVISOR_CAPS,
                security_opt=["no-new-privileges"],
                user="0:0",
                environment={"PATH": "/usr/local/bin:/usr/bin:/bin"},
                labels={LABEL: "1", OWNER_LABEL: self._owner},
            )
        except Exception as exc:
            raise SandboxError(
                f"cannot start a sandbox container from {self.image}: {exc}"
            ) from exc
        try:
            sock = self.client.api.attach_socket(
                container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
        except Exception as exc:
            self._discard_container(container)
            raise SandboxError(f"cannot attach to the sandbox container: {exc}") from exc
        return _Warm(container, sock)

    def _take(self, limits: Limits) -> _Warm:
        with self._lock:
            if self._closed:
                raise SandboxError("this sandbox is closed")
            idle = self._idle.setdefault(self._key(limits), [])
            warm = idle.pop() if idle else None
        return warm or self._create(limits)

    def _give_back(self, limits: Limits, warm: _Warm) -> None:
        with self._lock:
            idle = self._idle.setdefault(self._key(limits), [])
            if not self._closed and len(idle) < self.pool_size:
                idle.append(warm)
                return
        self._discard(warm)

    def _discard(self, warm: _Warm) -> None:
        warm.close()
        self._discard_container(warm.container)

    @staticmethod
    def _discard_container(container: Any) -> None:
        with contextlib.suppress(Exception):  # already gone: that is what we wanted
            container.remove(force=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool = [warm for idle in self._idle.values() for warm in idle]
            self._idle.clear()
        for warm in pool:
            self._discard(warm)

    # -- one run ------------------------------------------------------------------
    def _workdir(self) -> str:
        return f"/work/{new_run_id()}"

    def _rlimits(self, limits: Limits) -> dict[str, int]:
        # Memory, processes and CPU are the cgroup's; these only bound what cgroups do not.
        return {
            "RLIMIT_FSIZE": limits.file_mb * 1024 * 1024,
            "RLIMIT_NOFILE": 256,
            "RLIMIT_CORE": 0,
        }

    def _execute(self, request: dict, limits: Limits) -> bytes | None:
        request = {**request, "user": NOBODY}
        try:
            return self._execute_in(self._take(limits), request, limits)
        except SandboxError:
            # A pooled container in a bad state: one more try on a brand-new one.
            return self._execute_in(self._create(limits), request, limits)

    def _execute_in(self, warm: _Warm, request: dict, limits: Limits) -> bytes | None:
        healthy = False
        try:
            answer = warm.ask(encode(request), request["tag"], limits.timeout_s + OUTER_GRACE_S)
            healthy = answer is not None and _healthy(answer, request["tag"])
            return answer
        finally:
            if healthy:
                self._give_back(limits, warm)
            else:  # a timeout, an OOM kill, leftovers or a dead supervisor: never reuse it
                self._discard(warm)
                threading.Thread(target=self._refill, args=(limits,), daemon=True).start()

    def _refill(self, limits: Limits) -> None:
        with contextlib.suppress(SandboxError):  # the next run creates one and reports it
            self._give_back(limits, self._create(limits))


class _Warm:
    """A running container and the attached stream to its supervisor."""

    def __init__(self, container: Any, sock: Any) -> None:
        self.container = container
        self._sock = sock
        self._raw: socket.socket = getattr(sock, "_sock", sock)
        self._frames = bytearray()

    def ask(self, request: bytes, tag: str, timeout: float) -> bytes | None:
        """Send one request; the supervisor's output up to the end of its result line,
        or None if none came in time."""
        marker = tag.encode("ascii")
        out, err = bytearray(), bytearray()
        deadline = time.monotonic() + timeout
        try:
            self._raw.settimeout(timeout)
            self._raw.sendall(struct.pack(">Q", len(request)) + request)
            while True:
                at = out.rfind(marker)
                if at >= 0 and out.find(b"\n", at) >= 0:
                    return bytes(out)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._raw.settimeout(left)
                chunk = self._raw.recv(65536)
                if not chunk:
                    break  # the supervisor, and so the container, ended
                self._frames += chunk
                _split_frames(self._frames, out, err)
        except (TimeoutError, OSError):
            return None
        reason = " ".join(err.decode(errors="replace").split())[-300:]
        raise SandboxError(f"the sandbox container's supervisor ended: {reason}")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()


def _healthy(answer: bytes, tag: str) -> bool:
    """What the supervisor itself said (never a line the program forged) about leftovers."""
    try:
        return answer_record(answer, tag).get("healthy") is True
    except ValueError:  # json's decode error is one
        return False


def _split_frames(frames: bytearray, out: bytearray, err: bytearray) -> None:
    """Docker's multiplexed stream: 8-byte headers (stream, size), then the payload. Moves
    every whole frame from ``frames`` to ``out`` (stdout) or ``err``."""
    position = 0
    while position + 8 <= len(frames):
        size = struct.unpack(">I", frames[position + 4 : position + 8])[0]
        if position + 8 + size > len(frames):
            break
        target = out if frames[position] == 1 else err
        target += frames[position + 8 : position + 8 + size]
        position += 8 + size
    del frames[:position]
