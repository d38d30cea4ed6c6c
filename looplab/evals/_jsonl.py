"""Your own tasks as JSON lines.

One object per line::

    {"id": "q1", "prompt": "What is 2+2?", "family": "math", "answer": "4"}
    {"id": "c1", "prompt": "def f(x):\\n", "family": "code", "entry_point": "f",
     "visible_tests": "def check(candidate): ...", "hidden_tests": "def check(candidate): ..."}

Fields: ``id`` (string, unique) and ``prompt`` (string) are required;
``family`` (default ``custom``: an ``Answer: X`` line is expected; ``code``
for code), ``answer`` (the reference, for non-code), ``entry_point``,
``visible_tests``, ``hidden_tests`` (code: ``check(candidate)`` style; hidden
ones grade), ``metadata`` (an object). A task must be gradable: an answer, or
an entry point with hidden tests. Any bad line is an error naming the line
and the field.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from looplab.answers import is_code_family
from looplab.errors import EvalError
from looplab.records import Task

__all__ = ["jsonl_tasks"]

_FIELDS = {
    "id",
    "prompt",
    "family",
    "answer",
    "entry_point",
    "visible_tests",
    "hidden_tests",
    "metadata",
}


def jsonl_tasks(path: str | Path) -> list[Task]:
    path = Path(path)
    if not path.is_file():
        raise EvalError(f"no task file {path}")
    tasks: list[Task] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(data, dict):
                raise EvalError(f"{where}: a task must be a JSON object")
            unknown = sorted(set(data) - _FIELDS)
            if unknown:
                raise EvalError(f"{where}: unknown field {unknown[0]!r}")
            if isinstance(data.get("answer"), int | float) and not isinstance(data["answer"], bool):
                data["answer"] = str(data["answer"])
            try:
                task = Task.model_validate(data)
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(p) for p in first["loc"]) or "(object)"
                raise EvalError(f"{where}: field {field!r}: {first['msg']}") from None
            if task.id in seen:
                raise EvalError(f"{where}: field 'id': duplicate id {task.id!r}")
            gradable = (
                (task.entry_point and task.hidden_tests)
                if is_code_family(task.family)
                else task.answer is not None
            )
            if not gradable:
                need = (
                    "'entry_point' and 'hidden_tests'"
                    if is_code_family(task.family)
                    else "'answer'"
                )
                raise EvalError(f"{where}: field {need}: required to grade a {task.family} task")
            seen.add(task.id)
            tasks.append(task)
    if not tasks:
        raise EvalError(f"{path} holds no tasks")
    return tasks
