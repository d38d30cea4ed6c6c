"""The ``calc`` tool: exact arithmetic and simple algebra with sympy, safely.

Evaluation runs in a long-lived worker process (``_calc_worker``) so that a
calculation that takes too long -- sympy's simplify or solve can -- is ended
by killing the process; a warm spare takes over for the next call.
Input is checked in this process first (length, syntax, whitelist), so most
bad input never reaches the worker.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading

from looplab.errors import ToolError
from looplab.tools._calc_eval import parse
from looplab.tools._protocol import TextTool, ToolExample

__all__ = ["Calculator"]

STARTUP_TIMEOUT_S = 60.0


class _Worker:
    """One calculator worker process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "looplab.tools._calc_worker"],
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
            if not selector.select(timeout):
                return None
        line = stdout.readline()
        return json.loads(line) if line else None

    def ask(self, expr: str, timeout: float) -> dict | None:
        """The worker's answer, or None if it took too long or died."""
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write((json.dumps({"expr": expr}) + "\n").encode())
            self.proc.stdin.flush()
            return self.read_line(timeout)
        except (BrokenPipeError, OSError, ValueError):
            return None


class _WorkerPool:
    """The active worker plus a warm spare, shared by every Calculator in the process.

    A worker killed for taking too long is replaced by the spare at once, and
    a new spare starts in the background: the next call never waits for
    sympy's import.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: _Worker | None = None
        self.spare: _Worker | None = None

    def _take_spare(self) -> _Worker:
        worker = self.spare if self.spare is not None and self.spare.alive() else _Worker()
        self.spare = _Worker()
        return worker

    def warm_up(self) -> None:
        with self.lock:
            if self.active is None:
                self.active = self._take_spare()

    def evaluate(self, expr: str, timeout: float) -> dict:
        with self.lock:
            if self.active is None or not self.active.alive():
                self.active = self._take_spare()
            worker = self.active
            if not worker.wait_ready():
                worker.kill()
                self.active = None
                return {"ok": False, "error": "the calculator's worker process did not start"}
            answer = worker.ask(expr, timeout)
            if answer is None:
                worker.kill()
                self.active = None
                return {"ok": False, "error": f"the calculation took longer than {timeout:g} s"}
            return answer


_POOL = _WorkerPool()


class Calculator(TextTool):
    """Exact integers and rationals, decimals, powers, roots, logs, trig, factorial,
    gcd/lcm, simplify/expand/factor, and equations in one unknown (``2*x + 3 = 11``)."""

    name = "calc"
    description = (
        "A calculator. Write one arithmetic expression, e.g. 17*23, (3+4)/2, 2^10, sqrt(2), "
        "15% * 80, or an equation in one unknown such as 2*x + 3 = 11."
    )
    examples = (
        ToolExample("What is 17 times 23?", "17*23", "391", "17 times 23 is 391.", "391"),
        ToolExample("What is 40% of 85?", "40% * 85", "34", "40% of 85 is 34.", "34"),
        ToolExample("Solve 3*x - 4 = 11.", "3*x - 4 = 11", "x = 5", "The solution is x = 5.", "5"),
    )

    def __init__(self, *, timeout_s: float = 0.9) -> None:
        self.timeout_s = timeout_s
        _POOL.warm_up()  # the workers import sympy (~1 s) while the caller does other things

    def call(self, text: str) -> str:
        parse(text)  # cheap checks here; raises ToolError for most bad input
        answer = _POOL.evaluate(text, self.timeout_s)
        if not answer["ok"]:
            raise ToolError(answer["error"])
        return answer["output"]
