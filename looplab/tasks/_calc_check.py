"""Validating the calculator on GSM8K's own annotations (``<<48/2=24>>``).

Every annotation's expression goes through looplab's calculator, as a model's
call in the ``gsm8k`` tool syntax would, and the result is compared with the
annotated one. The annotators rounded some results (``<<10/3=3.33>>``), so an
annotated result with d decimals agrees when the exact value rounds to it at
d decimals; otherwise the numbers must be equal. Every disagreement is listed
with its reason: a calculator error, or a different value.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

from looplab.records import Task
from looplab.tasks._checkers import numbers_equal, parse_number
from looplab.tools import Calculator

__all__ = ["Annotation", "CalcCheck", "agrees_with_annotation", "annotations", "check_calculator"]

_ANNOTATION = re.compile(r"<<([^<>]*?)=([^<>=]*)>>")


@dataclass(frozen=True)
class Annotation:
    """One of GSM8K's <<EXPR=RESULT>> annotations and where it was found."""

    task_id: str
    expression: str
    annotated: str


def annotations(tasks: list[Task]) -> list[Annotation]:
    """Every ``<<EXPR=RESULT>>`` of every task's worked solution, in order."""
    return [
        Annotation(task.id, expression, result)
        for task in tasks
        for expression, result in _ANNOTATION.findall(task.metadata.get("solution", ""))
    ]


def agrees_with_annotation(output: str, annotated: str) -> tuple[bool, str]:
    """Whether the calculator's ``output`` agrees with GSM8K's ``annotated`` result (to its
    rounding), and why not."""
    got, want = parse_number(output), parse_number(annotated)
    if want is None:
        return output.strip() == annotated.strip(), "the annotation is not a number"
    if got is None:
        return False, f"the calculator gave {output!r}, not a number"
    if numbers_equal(got, want):
        return True, ""
    decimals = _decimals(annotated)
    if decimals is not None and _rounded(got, decimals) == Decimal(annotated.strip()):
        return True, ""
    return False, f"the calculator gave {output}, the annotation says {annotated}"


def _decimals(text: str) -> int | None:
    text = text.strip()
    if "." not in text:
        return None
    return len(text.split(".", 1)[1])


def _rounded(value: Fraction, decimals: int) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    try:
        return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return exact


@dataclass
class CalcCheck:
    """The calculator against GSM8K's annotations: agreements, disagreements, refusals."""

    total: int
    agreed: int
    disagreements: list[tuple[Annotation, str]]
    median_us: float
    """Median microseconds per expression (the calculator's own call)."""


def check_calculator(tasks: list[Task], calculator: Calculator | None = None) -> CalcCheck:
    """Every annotation evaluated by the calculator and compared with its annotated result."""
    calculator = calculator or Calculator()
    found = annotations(tasks)
    disagreements: list[tuple[Annotation, str]] = []
    times = []
    for item in found:
        started = time.perf_counter()
        result = calculator.run(item.expression)
        times.append(time.perf_counter() - started)
        if not result.ok:
            disagreements.append((item, f"calculator error: {result.error}"))
            continue
        ok, reason = agrees_with_annotation(result.output, item.annotated)
        if not ok:
            disagreements.append((item, reason))
    return CalcCheck(
        total=len(found),
        agreed=len(found) - len(disagreements),
        disagreements=disagreements,
        median_us=statistics.median(times) * 1e6 if times else 0.0,
    )
