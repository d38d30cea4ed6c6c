"""The ``calc`` tool: exact arithmetic and simple algebra with sympy, safely.

Evaluation runs in a long-lived worker process (``_calc_worker``) so that a
calculation that takes too long -- sympy's simplify or solve can -- is ended
by killing the process; a warm spare takes over for the next call.
Input is checked in this process first (length, syntax, whitelist), so most
bad input never reaches the worker.
"""

from __future__ import annotations

from looplab.errors import ToolError
from looplab.tools._calc_eval import parse
from looplab.tools._protocol import TextTool, ToolExample
from looplab.tools._worker import WorkerPool

__all__ = ["Calculator"]

_POOL = WorkerPool("looplab.tools._calc_worker")
"""Shared by every Calculator in the process."""


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
        answer = _POOL.ask({"expr": text}, self.timeout_s)
        if answer is None:
            raise ToolError(f"the calculation took longer than {self.timeout_s:g} s")
        if not answer["ok"]:
            raise ToolError(answer["error"])
        return answer["output"]
