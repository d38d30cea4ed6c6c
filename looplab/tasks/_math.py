"""MATH-style tasks and their grader: LaTeX answers judged equal by math-verify.

The reference is the last ``\\boxed{}`` (or ``\\fbox{}``) of the record's worked
solution, nested braces and all, or a column that holds the answer itself.
Equivalence is decided by the ``math-verify`` library (Hugging Face; LaTeX parsed
by its ANTLR grammar into sympy, then compared symbolically and numerically), in a
worker process with a deadline, so no answer a model writes can hang a run.

One rule is looplab's own, on top: math-verify drops units (``5\\text{ cm}`` equals
``5\\text{ m}`` to it), as MATH's usual grading does. An answer may leave the unit
out, but one that *states* a unit other than the reference's is wrong; units are
compared as words (plural ``s`` ignored), never converted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from looplab.answers import boxed_contents
from looplab.errors import EvalError
from looplab.records import Task
from looplab.tasks._rows import read_rows, split_suffix
from looplab.tools import WorkerPool

__all__ = ["latex_equal", "latex_equal_many", "math_reference", "math_tasks", "stated_unit"]

_POOL = WorkerPool("looplab.tasks._math_worker")
_SECONDS_PER_PAIR = 12.0  # the worker's own limits are 5 s to parse each side and 5 s to compare
MAX_ANSWER_CHARS = 1000
"""A longer answer is not parsed (None): no final answer in MATH is near this long."""

# A number-like head (digits, fractions, roots, signs) then a unit: \text{..}, \mbox{..},
# \mathrm{..} or a plain word of two or more letters, maybe squared or cubed.
_UNIT = re.compile(
    r"^(?P<head>.*[\d}])\s*(?:\\[,;:! ]|~|\s)*"
    r"(?:\\(?:text|mbox|mathrm|textnormal)\s*\{(?P<braced>[^{}]*)\}|(?P<plain>[A-Za-z]{2,}))"
    r"(?P<power>\s*\^\s*\{?[23]\}?)?\s*\.?$",
)
_NUMBER_HEAD = re.compile(r"[\d.\-+\s{}\\,]|\\(?:frac|dfrac|tfrac|sqrt|pi|cdot|times)")


def stated_unit(latex: str) -> str | None:
    """The unit a LaTeX answer states after its number, normalised, or None.

    >>> [stated_unit(a) for a in (r"5\\text{ cm}", r"12 \\mbox{inches}^2", "7 dollars", "2x", "5")]
    ['cm', 'inch^2', 'dollar', None, None]
    """
    match = _UNIT.match(latex.strip().strip("$"))
    if match is None:
        return None
    head = match["head"]
    if _NUMBER_HEAD.sub("", head).strip():  # letters before the unit: an expression, not a number
        return None
    words = (match["braced"] or match["plain"] or "").replace("\\", " ").lower().split()
    if not words:
        return None
    words = [_singular(w) for w in words]
    power = re.sub(r"\D", "", match["power"] or "")
    return " ".join(words) + (f"^{power}" if power else "")


def _singular(word: str) -> str:
    """A unit word's singular, for comparing units as words: inches -> inch, feet -> foot."""
    if word == "feet":
        return "foot"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    return word[:-1] if len(word) > 2 and word.endswith("s") and not word.endswith("ss") else word


def _units_clash(reference: str, answer: str) -> bool:
    ours, theirs = stated_unit(reference), stated_unit(answer)
    return ours is not None and theirs is not None and ours != theirs


def latex_equal_many(pairs: Sequence[tuple[str, str]]) -> list[bool | None]:
    """For each (reference, answer): equal, not equal, or None when math-verify could not
    parse one side or took too long. A request past its deadline counts as all None."""
    if not pairs:
        return []
    asked = [i for i, (_, answer) in enumerate(pairs) if len(answer) <= MAX_ANSWER_CHARS]
    reply = _POOL.ask(
        {"pairs": [list(pairs[i]) for i in asked]},
        timeout=10.0 + _SECONDS_PER_PAIR * len(asked),
    )
    if reply is None:
        return [None] * len(pairs)
    results: list[bool | None] = [None] * len(pairs)
    for i, ok in zip(asked, reply["equal"], strict=True):
        results[i] = ok
    return [
        False if ok and _units_clash(ref, answer) else ok
        for (ref, answer), ok in zip(pairs, results, strict=True)
    ]


def latex_equal(reference: str, answer: str) -> bool | None:
    """Whether ``answer`` is ``reference`` by math-verify and the unit rule (None: unparsable)."""
    return latex_equal_many([(reference, answer)])[0]


def math_reference(solution: str) -> str | None:
    """A MATH worked solution's answer: the contents of its last ``\\boxed{}``/``\\fbox{}``."""
    return boxed_contents(solution)


def math_tasks(path: str | Path, mapping: dict[str, str] | None = None) -> list[Task]:
    """MATH-style records as ``math`` tasks.

    Columns (renamed by ``mapping``, field -> column): ``id`` (else ``unique_id``, else
    the row's index), ``problem`` (the prompt), and ``answer`` if the rows have one,
    else the last box of ``solution``. ``level``, ``type`` and any other columns go into
    metadata (never shown to a loop)."""
    folder, split = split_suffix(path)
    rows = read_rows(folder, split=split)
    mapping = dict(mapping or {})
    prompt_col = mapping.pop("prompt", "problem")
    answer_col = mapping.pop("answer", None)
    solution_col = mapping.pop("solution", "solution")
    id_col = mapping.pop("id", None)
    if mapping:
        raise EvalError(
            f"{path}: math: maps prompt, answer, solution and id, not {next(iter(mapping))}"
        )
    tasks: list[Task] = []
    seen: set[str] = set()
    for index, (where, row) in enumerate(rows):
        problem = row.get(prompt_col)
        if not isinstance(problem, str) or not problem.strip():
            raise EvalError(f"{where}: no problem text in column {prompt_col!r}")
        if answer_col is not None or "answer" in row:
            reference = row.get(answer_col or "answer")
            reference = None if reference is None else str(reference).strip().strip("$")
        else:
            solution = row.get(solution_col)
            if not isinstance(solution, str):
                raise EvalError(f"{where}: no {solution_col!r} column to take the answer from")
            reference = math_reference(solution)
        if not reference:
            raise EvalError(f"{where}: no reference answer (no \\boxed{{}} in the solution)")
        task_id = str(
            row.get(id_col or "id") or row.get("unique_id") or f"{Path(path).stem}-{index}"
        )
        if task_id in seen:
            raise EvalError(f"{where}: duplicate id {task_id!r}")
        seen.add(task_id)
        used = {prompt_col, answer_col, id_col or "id"}
        tasks.append(
            Task(
                id=task_id,
                prompt=problem,
                family="math",
                answer=reference,
                metadata={k: v for k, v in row.items() if k not in used},
            )
        )
    if not tasks:
        raise EvalError(f"{path} holds no tasks")
    return tasks
