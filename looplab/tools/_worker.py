"""Worker processes for tool work that may run past its deadline: killed, not waited for.

A thread cannot be stopped, so work whose time depends on what a model wrote
-- sympy's simplify, parsing a page of deeply nested tags -- runs in a
long-lived worker process (``python -m MODULE``: JSON lines in, JSON lines
out, ``{"ready": true}`` first). A call past its deadline kills the worker;
a warm spare takes over at once and a new spare starts, so the next call
never waits for the worker's imports.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading

__all__ = ["WorkerPool"]

STARTUP_TIMEOUT_S = 60.0


class _Worker:
    """One worker process."""

    def __init__(self, module: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        self.ready = threading.Event()

    def wait_ready(self) -> bool:
        if not self.ready.is_set() and self.read_line(STARTUP_TIMEOUT_S) is not None:
            self.ready.set()
        return self.ready.is_set()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def read_line(self, timeout: float) -> dict | None:
        stdout = self.proc.stdout
        if stdout is None:
            return None
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            if not selector.select(max(0.0, timeout)):
                return None
        line = stdout.readline()
        return json.loads(line) if line else None

    def ask(self, request: dict, timeout: float) -> dict | None:
        """The worker's answer, or None if it took too long or died."""
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
            return self.read_line(timeout)
        except (BrokenPipeError, OSError, ValueError):
            return None


class WorkerPool:
    """The active worker of ``module`` plus a warm spare, shared by every caller in the
    process; one request at a time."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.lock = threading.Lock()
        self.active: _Worker | None = None
        self.spare: _Worker | None = None

    def _take_spare(self) -> _Worker:
        worker = self.spare if self.spare is not None and self.spare.alive() else None
        self.spare = _Worker(self.module)
        return worker or _Worker(self.module)

    def warm_up(self) -> None:
        """Start the workers now, so that their imports overlap the caller's work."""
        with self.lock:
            if self.active is None:
                self.active = self._take_spare()

    def ask(self, request: dict, timeout: float) -> dict | None:
        """The answer to ``request`` within ``timeout`` seconds, or None: the worker took
        too long (it is killed), died, or did not start."""
        with self.lock:
            if self.active is None or not self.active.alive():
                self.active = self._take_spare()
            worker = self.active
            answer = worker.ask(request, timeout) if worker.wait_ready() else None
            if answer is None:
                worker.kill()
                self.active = None
            return answer
