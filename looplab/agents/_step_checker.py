"""A critic that is a tool: the calculator recomputes every arithmetic step an answer
writes (``a op b = c``), and the feedback names each wrong one.

This is feedback from a tool rather than from the model's judgement -- the contrast
CRITIC (Gou et al. 2024) draws -- and, like visible tests for code, it is external
but not ground truth: it checks the steps the answer wrote, not whether they were the
right steps for the problem. An answer with no step to check gets no verdict (None),
recorded as such. The critique also carries the answer's text up to its first wrong
step with the calculator's value in its place (``Critique.correction``): a repair in
``continue`` mode goes on from there.
"""

from __future__ import annotations

import json
import re
import time

from looplab.answers import vote_key
from looplab.records import Critique, ToolCall
from looplab.steps import Body, call
from looplab.tools import Tool, make_tools

__all__ = ["StepChecker", "agrees", "arithmetic_steps"]

_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
_STEP = re.compile(rf"(?<![\w.])({_NUMBER})\s*([-+*/×x÷])\s*({_NUMBER})\s*=\s*({_NUMBER})")
_OPERATORS = {"×": "*", "x": "*", "÷": "/"}
_TOOL_SPANS = re.compile(r"<(calc|result|error)>.*?</\1>", re.DOTALL)
MAX_STEPS = 20
"""At most this many steps are recomputed per answer (a model may write hundreds)."""


def arithmetic_steps(text: str) -> list[tuple[str, str]]:
    """Each ``a op b = c`` in ``text`` as (the expression to compute, the claimed result),
    tool calls and results left out.

    >>> arithmetic_steps("He has 51 - 35 = 15 left, then 15 × 2 = 30.")
    [('51-35', '15'), ('15*2', '30')]
    """
    return [(expression, claimed) for expression, claimed, _ in _steps(text)]


def _steps(text: str) -> list[tuple[str, str, int]]:
    """``arithmetic_steps`` with where each claimed result starts in ``text``."""
    # blanked to the same length, so that positions stay those of ``text``
    blanked = _TOOL_SPANS.sub(lambda m: " " * len(m.group()), text)
    found = []
    for match in _STEP.finditer(blanked):
        a, op, b, claimed = match.groups()
        expression = f"{a.replace(',', '')}{_OPERATORS.get(op, op)}{b.replace(',', '')}"
        found.append((expression, claimed.replace(",", ""), match.start(4)))
    return found[:MAX_STEPS]


def agrees(computed: str, claimed: str) -> bool:
    """True when ``claimed`` is ``computed``, or ``computed`` rounded to the claim's own
    decimals (a whole-number claim must be exact).

    >>> agrees("3.33333333333", "3.33"), agrees("665", "625"), agrees("2.5", "2.50")
    (True, False, True)
    >>> agrees("3.5", "3")
    False
    """
    try:
        value, stated = float(computed), float(claimed)
    except ValueError:
        return vote_key(computed) == vote_key(claimed)
    decimals = len(claimed.partition(".")[2])
    rounding = 0.5 * 10.0**-decimals if decimals else 0.0
    return abs(value - stated) <= rounding + 1e-9 * max(1.0, abs(value))


class StepChecker:
    """Recomputes an answer's arithmetic steps with the calculator; judges by them."""

    def __init__(self, calculator: Tool | None = None) -> None:
        self.calculator = calculator if calculator is not None else make_tools(["calc"])["calc"]

    def body(self, answer_text: str, *, iteration: int) -> Body[Critique]:
        """The critique of one attempt as a body of steps (``looplab.steps``)."""
        started = time.perf_counter()
        calls: list[ToolCall] = []
        wrong: list[str] = []
        correction = None
        for expression, claimed, at in _steps(answer_text):
            result = yield call(self.calculator.run, self.calculator.arun, expression)
            calls.append(
                ToolCall(
                    tool="calc", input=expression, ok=result.ok,
                    output=result.output if result.ok else None,
                    error=None if result.ok else result.error,
                    problem=None if result.ok else "execution",
                    ms=result.elapsed_s * 1000,
                )
            )  # fmt: skip
            if result.ok and not agrees(result.output, claimed):
                wrong.append(f"{expression} = {result.output}, not {claimed}")
                if correction is None:  # the first wrong step, its value put right
                    correction = answer_text[:at] + result.output
        if not calls:
            verdict, feedback = None, "There is no arithmetic step (a op b = c) to check."
        elif wrong:
            verdict = "incorrect"
            feedback = "The calculator disagrees with these steps: " + "; ".join(wrong) + "."
        else:
            verdict, feedback = "correct", "Every arithmetic step checks out with the calculator."
        return Critique(
            iteration=iteration,
            source="tool",
            verdict=verdict,
            confidence=1.0 if verdict else None,
            feedback=feedback,
            correction=correction,
            raw=json.dumps({"steps": len(calls), "wrong": wrong}),
            tool_calls=calls,
            latency_s=time.perf_counter() - started,
            model="calculator",
        )
