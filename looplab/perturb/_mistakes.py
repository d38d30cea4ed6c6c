"""Mistake injection: a correct chain of thought with one wrong step planted in it.

For task sets that record a worked solution (the generated ``arithmetic``
family: one ``a op b = c`` line per step), ``plant_mistake`` changes the
result of step k and recomputes every later step correctly from the wrong
value -- so the first mistake is exactly step k and the error propagates to
the final answer, as in BIG-Bench Mistake's traces (Tyen et al. 2023).

The spec ``mistakes:SPEC`` (e.g. ``mistakes:arithmetic:steps=3``) turns a
task set into mistake-finding tasks: each task's ``draft`` is the planted
chain, ending with ``Answer: N`` (a wrong N), and ``metadata`` records the
planted step (1-based) for the metrics -- never for the loop.
"""

from __future__ import annotations

import random
import re
from fractions import Fraction

from looplab.errors import EvalError
from looplab.records import Task

__all__ = ["STEP", "plant_mistake", "planted_tasks"]

STEP = re.compile(r"^\s*(-?\d+)\s*([-+*])\s*(-?\d+)\s*=\s*(-?\d+)\s*$")
"""One worked arithmetic step: ``a op b = c``."""

_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


def _slip(value: int, rng: random.Random) -> int:
    """A believable wrong result: one digit off, or off by a small amount."""
    text = str(abs(value))
    if rng.random() < 0.5 and len(text) > 1:
        where = rng.randrange(len(text))
        digits = [d for d in "0123456789" if d != text[where] and (where or d != "0")]
        wrong = int(text[:where] + rng.choice(digits) + text[where + 1 :])
        return -wrong if value < 0 else wrong
    return value + rng.choice([-10, -2, -1, 1, 2, 10])


def plant_mistake(steps: list[str], step: int, rng: random.Random) -> list[str]:
    """``steps`` with the result of ``step`` (1-based) wrong and later steps following from it."""
    parsed = []
    for line in steps:
        match = STEP.match(line)
        if match is None:
            raise EvalError(f"cannot plant a mistake: {line!r} is not an 'a op b = c' step")
        a, op, b, c = match.groups()
        parsed.append([int(a), op, int(b), int(c)])
    if not 1 <= step <= len(parsed):
        raise EvalError(f"cannot plant a mistake at step {step} of {len(parsed)}")
    planted = []
    carry: int | None = None
    for index, (a, op, b, c) in enumerate(parsed, start=1):
        if carry is not None:
            a = carry  # each step starts from the previous result, as in the task
            c = _OPS[op](a, b)
        if index == step:
            right = c
            while c == right or c < 0 <= right:
                c = _slip(right, rng)
        planted.append(f"{a} {op} {b} = {c}")
        carry = c
    return planted


def planted_tasks(tasks: list[Task], *, seed: int = 0) -> list[Task]:
    """Each task with a planted chain as its ``draft`` and the mistake's step in metadata."""
    out = []
    for task in tasks:
        solution = task.metadata.get("steps_solution")
        if not solution:
            raise EvalError(
                f"task {task.id} has no step-by-step solution to plant a mistake in "
                "(the arithmetic task set has one)"
            )
        rng = random.Random(f"plant:{seed}:{task.id}")
        step = rng.randint(1, len(solution))
        planted = plant_mistake(list(solution), step, rng)
        final = STEP.match(planted[-1]).group(4)  # type: ignore[union-attr]
        if task.answer is not None and Fraction(final) == Fraction(task.answer):
            raise EvalError(f"task {task.id}: the planted mistake cancelled out")  # cannot happen
        out.append(
            task.model_copy(
                update={
                    "id": f"{task.id}-m{step}",
                    "draft": [*planted, f"Answer: {final}"],
                    "metadata": {**task.metadata, "mistake_step": step},
                }
            )
        )
    return out
