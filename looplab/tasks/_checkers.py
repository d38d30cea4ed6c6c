"""Ground-truth checkers, one per answer kind (``looplab.answers.ANSWER_KINDS``):

- ``value``: numeric or exact answers (below);
- ``latex``: math-verify equivalence (``_math``);
- ``choice``: the choice's letter; an answer that names a choice's text instead
  counts as that choice;
- ``squad``: SQuAD exact match against the reference and its aliases, token F1
  kept as the attempt's score (``_squad``);
- ``tests``: code run against hidden tests in the sandbox.

For ``value``:
Numbers are compared as numbers: the number after the last ``=`` of an
answer, else its first number, so ``1,234``, ``$1234.00``, ``1234 apples``,
``1.234e3``, ``2468/2``, ``**1234** dollars a week`` and ``1000 + 234 = 1234``
all equal 1234; the tolerance is 1e-6 relative
(1e-9 absolute). A reference that is not a number is compared as text,
case- and space-insensitively. Code is graded by running the task's hidden
tests in the sandbox. Identical answers to the same task are graded once.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from fractions import Fraction

from looplab.answers import answer_kind, choice_letter
from looplab.errors import EvalError
from looplab.records import Task
from looplab.sandbox import Sandbox, check_program, context_from_prompt

__all__ = [
    "Grade",
    "Grader",
    "chosen_letter",
    "numbers_equal",
    "parse_number",
    "program_for",
]

_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:\s*/\s*\d+)?")


@dataclass(frozen=True)
class Grade:
    """Whether one answer is right, by ground truth."""

    correct: bool
    detail: str = ""
    score: float | None = None
    """A graded score beside right/wrong where the answer kind has one (QA: token F1)."""


def parse_number(text: str | None) -> Fraction | None:
    """The number a final answer states, or None.

    The number after the last ``=`` when there is one (``15 + 25 = 40``), else
    the first number: units, currency and trailing words are ignored.

    >>> parse_number("$1,234.50 dollars")
    Fraction(2469, 2)
    >>> parse_number("x = 5")
    Fraction(5, 1)
    >>> parse_number("15 + 25 = 40.")
    Fraction(40, 1)
    >>> parse_number("18 dollars per day for 7 days")
    Fraction(18, 1)
    >>> parse_number("**\\boxed{3}** m^2")
    Fraction(3, 1)
    """
    if text is None:
        return None
    cleaned = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.strip())
    cleaned = re.sub(r"[$€£¥*`]|\\boxed|\\\(|\\\)", "", cleaned)
    _, equals, after = cleaned.rpartition("=")
    match = _NUMBER.search(after if equals else cleaned)
    if match is None:
        return None
    token = match.group(0).replace(" ", "")
    try:
        if "/" in token:
            numerator, denominator = token.split("/")
            return Fraction(Fraction(numerator), Fraction(denominator))
        return Fraction(token)
    except (ValueError, ZeroDivisionError):
        return None


def numbers_equal(a: Fraction, b: Fraction) -> bool:
    """Whether two numeric answers agree within tolerance."""
    return abs(a - b) <= max(Fraction(1, 10**9), abs(b) * Fraction(1, 10**6))


def _norm(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .")


def program_for(task: Task, code: str) -> str:
    """The program to grade: the answer, with the prompt's header (imports, helpers) if it
    defines the entry point itself, or appended to the whole prompt if it is a body. A
    prompt that is not Python (MBPP's description) adds nothing."""
    if not context_from_prompt(task.prompt):
        return f"{code}\n"
    if task.entry_point and f"def {task.entry_point}" in code:
        header = task.prompt.split(f"def {task.entry_point}")[0]
        return f"{header}\n{code}\n"
    return f"{task.prompt}{code}\n"


class Grader:
    """Grades answers to tasks; code needs a sandbox. Thread-safe, with a cache."""

    def __init__(self, sandbox: Sandbox | None = None) -> None:
        self.sandbox = sandbox
        self._cache: dict[tuple[str, str | None], Grade] = {}
        self._lock = threading.Lock()

    def grade(self, task: Task, answer: str | None) -> Grade:
        """Grade one answer against the task's ground truth."""
        key = (task.id, answer)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        grade = self._grade(task, answer)
        with self._lock:
            self._cache[key] = grade
        return grade

    def _grade(self, task: Task, answer: str | None) -> Grade:
        grading = answer_kind(task.family).grading
        if answer is None:
            return Grade(False, "no final answer found", 0.0 if grading == "squad" else None)
        if grading == "tests":
            return self._grade_code(task, answer)
        if task.answer is None:
            raise EvalError(f"task {task.id} has no reference answer")
        if grading == "latex":
            return _grade_latex(task.answer, answer)
        if grading == "choice":
            return _grade_choice(task, answer)
        if grading == "squad":
            return _grade_squad(task, answer)
        return _grade_value(task.answer, answer)

    def _grade_code(self, task: Task, answer: str) -> Grade:
        if not task.hidden_tests or not task.entry_point:
            raise EvalError(f"task {task.id} has no hidden tests to grade code with")
        if self.sandbox is None:
            raise EvalError("grading code needs a sandbox")
        result = check_program(
            self.sandbox,
            program_for(task, answer),
            task.hidden_tests,
            task.entry_point,
            context=context_from_prompt(task.prompt),
        )
        return Grade(result.passed, result.detail)


def _grade_value(reference_text: str, answer: str) -> Grade:
    reference, given = parse_number(reference_text), parse_number(answer)
    if reference is not None:
        if given is None:
            return Grade(False, f"not a number: {answer[:60]!r}")
        ok = numbers_equal(given, reference)
        return Grade(ok, "" if ok else f"{answer[:60]} != {reference_text}")
    ok = _norm(answer) == _norm(reference_text)
    return Grade(ok, "" if ok else f"{answer[:60]!r} != {reference_text!r}")


def _grade_latex(reference: str, answer: str) -> Grade:
    from looplab.tasks._math import latex_equal

    ok = latex_equal(reference, answer)
    if ok is None:
        return Grade(False, f"math-verify could not parse {answer[:60]!r} (or timed out)")
    return Grade(ok, "" if ok else f"{answer[:60]} != {reference}")


def chosen_letter(task: Task, answer: str) -> str | None:
    """The letter of the choice an answer picks: the letter it states, else the choice whose
    text it is (SQuAD-normalised); None if it picks none of the task's choices."""
    from looplab.tasks._squad import normalize_answer

    choices = task.choices or []
    letter = choice_letter(answer)
    if letter is not None:
        return letter if ord(letter) - ord("A") < len(choices) else None
    said = normalize_answer(answer)
    matches = [i for i, c in enumerate(choices) if normalize_answer(c) == said]
    return chr(ord("A") + matches[0]) if len(matches) == 1 else None


def _grade_choice(task: Task, answer: str) -> Grade:
    letter = chosen_letter(task, answer)
    if letter is None:
        return Grade(False, f"names no choice: {answer[:60]!r}")
    ok = letter == task.answer
    return Grade(ok, "" if ok else f"{letter} != {task.answer}")


def _grade_squad(task: Task, answer: str) -> Grade:
    from looplab.tasks._squad import best_exact_match, best_f1

    truths = [task.answer or "", *task.aliases]
    ok, f1 = best_exact_match(answer, truths), best_f1(answer, truths)
    return Grade(ok, "" if ok else f"{answer[:60]!r} != {task.answer!r} (F1 {f1:.2f})", f1)
