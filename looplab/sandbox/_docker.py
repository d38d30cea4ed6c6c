"""The Docker backend: hardened containers kept warm in a pool.

Every container is created with no network, a read-only root filesystem,
size-capped tmpfs mounts for the work directory and /tmp, memory = swap
limit, a CPU share, a pids limit, all capabilities dropped,
no-new-privileges, and user nobody. A container idles (PID 1 is a tiny
reaper of orphans) until a run takes it; the run executes the runner in a fresh directory under
/work, which the runner removes again, and leaves no process behind. A run
that times out, hits the memory limit or leaves any doubt kills its
container, and a fresh one takes its place.

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
    encode,
    new_run_id,
    result_line,
)
from looplab.sandbox._runner import RUNNER_SOURCE
from looplab.sandbox._types import Limits

__all__ = ["DEFAULT_IMAGES", "BUILT_IMAGE", "DockerSandbox", "docker_available", "reap_orphans"]

BUILT_IMAGE = "looplab-sandbox:bookworm"
"""The tag ``looplab sandbox build-image`` gives the image it builds offline."""
DEFAULT_IMAGES = ("python:3.12-slim", BUILT_IMAGE)
"""Tried in order when no image is named: the first one present locally is used."""
LABEL = "looplab.sandbox"
OWNER_LABEL = "looplab.owner"
NOBODY = "65534:65534"
_INODES = 16384
"""Files and directories a run may create in each writable mount."""

# PID 1 of every container: idles and reaps orphans, so the zombies a fork bomb
# leaves behind never count against the pids limit of the next run.
_REAPER = """
import os, time
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.05)
"""


def _client(timeout: float = 30) -> Any:
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
        client = _client(timeout=5)
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

    def __init__(
        self, limits: Limits | None = None, *, image: str | None = None, pool_size: int = 2
    ) -> None:
        super().__init__(limits)
        self.client = _client()
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

    def _create(self, limits: Limits) -> Any:
        # Inodes are capped too: a tmpfs's inodes are kernel memory charged to the
        # container, and a program creating files without end would otherwise starve
        # the runner of memory before it fills the size cap.
        size = f"size={limits.file_mb}m,nr_inodes={_INODES},mode=1777,exec"
        try:
            return self.client.containers.run(
                self.image,
                command=["python3", "-I", "-c", _REAPER],
                detach=True,
                network_mode="none",
                read_only=True,
                tmpfs={"/work": size, "/tmp": size, "/dev/shm": size},
                mem_limit=f"{limits.memory_mb}m",
                memswap_limit=f"{limits.memory_mb}m",
                nano_cpus=int(limits.cpus * 1e9),
                pids_limit=limits.pids,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                user=NOBODY,
                environment={"PATH": "/usr/local/bin:/usr/bin:/bin"},
                labels={LABEL: "1", OWNER_LABEL: self._owner},
            )
        except Exception as exc:
            raise SandboxError(
                f"cannot start a sandbox container from {self.image}: {exc}"
            ) from exc

    def _take(self, limits: Limits) -> Any:
        with self._lock:
            if self._closed:
                raise SandboxError("this sandbox is closed")
            idle = self._idle.setdefault(self._key(limits), [])
            container = idle.pop() if idle else None
        return container or self._create(limits)

    def _give_back(self, limits: Limits, container: Any) -> None:
        with self._lock:
            idle = self._idle.setdefault(self._key(limits), [])
            if not self._closed and len(idle) < self.pool_size:
                idle.append(container)
                return
        self._discard(container)

    def _discard(self, container: Any) -> None:
        with contextlib.suppress(Exception):  # already gone: that is what we wanted
            container.remove(force=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            containers = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for container in containers:
            self._discard(container)

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
        try:
            return self._execute_in(self._take(limits), request, limits)
        except SandboxError:
            # A pooled container in a bad state: one more try on a brand-new one.
            return self._execute_in(self._create(limits), request, limits)

    def _execute_in(self, container: Any, request: dict, limits: Limits) -> bytes | None:
        healthy = False
        try:
            answer = self._exec(container, encode(request), limits.timeout_s + OUTER_GRACE_S)
            healthy = answer is not None and _healthy(answer, request["tag"])
            return answer
        finally:
            if healthy:
                self._give_back(limits, container)
            else:  # a timeout, an OOM kill, leftovers or a broken exec: never reuse it
                self._discard(container)
                threading.Thread(target=self._refill, args=(limits,), daemon=True).start()

    def _refill(self, limits: Limits) -> None:
        with contextlib.suppress(SandboxError):  # the next run creates one and reports it
            self._give_back(limits, self._create(limits))

    def _exec(self, container: Any, request: bytes, timeout: float) -> bytes | None:
        api = self.client.api
        try:
            exec_id = api.exec_create(
                container.id,
                ["python3", "-I", "-S", "-c", RUNNER_SOURCE],
                stdin=True,
                stdout=True,
                stderr=True,
                user=NOBODY,
                workdir="/work",
            )["Id"]
            sock = api.exec_start(exec_id, socket=True)
        except Exception as exc:
            raise SandboxError(f"cannot run in the sandbox container: {exc}") from exc
        raw = getattr(sock, "_sock", sock)
        try:
            raw.settimeout(timeout)
            raw.sendall(request)
            raw.shutdown(socket.SHUT_WR)  # end of the runner's stdin
            stdout, stderr = _read_frames(raw, deadline=time.monotonic() + timeout)
        except (TimeoutError, OSError):
            return None
        finally:
            with contextlib.suppress(OSError):
                sock.close()
        if stdout is None:
            return None
        if not stdout.strip():
            reason = " ".join(stderr.decode(errors="replace").split())[-300:]
            raise SandboxError(f"the runner failed in the container: {reason}")
        return stdout


def _healthy(answer: bytes, tag: str) -> bool:
    """What the runner itself said (never a line the program forged) about leftovers."""
    try:
        return result_line(answer, tag).get("healthy") is True
    except ValueError:
        return False


def _read_frames(raw: socket.socket, *, deadline: float) -> tuple[bytes | None, bytes]:
    """Docker's multiplexed stream: 8-byte headers (stream, size), then the payload."""
    chunks = []
    while True:
        if time.monotonic() > deadline:
            return None, b""
        chunk = raw.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
    buffer = b"".join(chunks)
    streams = {1: bytearray(), 2: bytearray()}
    position = 0
    while position + 8 <= len(buffer):
        stream, size = buffer[position], struct.unpack(">I", buffer[position + 4 : position + 8])[0]
        streams.setdefault(stream, bytearray()).extend(buffer[position + 8 : position + 8 + size])
        position += 8 + size
    return bytes(streams[1]), bytes(streams[2])
