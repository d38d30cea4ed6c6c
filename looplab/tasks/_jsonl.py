"""Your own tasks as JSON lines, parquet or a saved Hugging Face ``datasets`` folder.

One object per line (or one row)::

    {"id": "q1", "prompt": "What is 2+2?", "family": "math", "answer": "4"}
    {"id": "c1", "prompt": "def f(x):\\n", "family": "code", "entry_point": "f",
     "visible_tests": "def check(candidate): ...", "hidden_tests": "def check(candidate): ..."}

Fields: ``id`` (string, unique) and ``prompt`` (string) are required;
``family`` (default ``custom``: an ``Answer: X`` line is expected; ``code``
for code), ``answer`` (the reference, for non-code), ``entry_point``,
``visible_tests``, ``hidden_tests`` (code: ``check(candidate)`` style; hidden
ones grade), ``choices`` (multiple choice: the answer is a letter), ``aliases``
(other accepted answers), ``metadata`` (an object). ``family`` is one of
``looplab.answers.ANSWER_KINDS`` (``math``, ``choice``, ``qa``, ``mbpp``, ...).
A task must be gradable: an answer, or an entry point with hidden tests. Any bad
line is an error naming the line and the field.

A table (``parquet:PATH``, ``hf:PATH[#SPLIT]``) may name its columns otherwise: a
mapping such as ``prompt=question,answer=answer`` says which column fills which
field, and ``family=NAME`` gives every row that family. Without an ``id`` column a
row's id is the file's stem and its index (``test-0``, ...); columns no field takes
go into ``metadata`` (never shown to a loop).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from looplab.answers import ANSWER_KINDS, is_code_family
from looplab.errors import EvalError
from looplab.records import Task
from looplab.tasks._rows import Rows, read_rows

__all__ = ["jsonl_tasks", "table_tasks"]

_FIELDS = {
    "id",
    "prompt",
    "family",
    "answer",
    "entry_point",
    "visible_tests",
    "hidden_tests",
    "choices",
    "aliases",
    "metadata",
}


def jsonl_tasks(path: str | Path) -> list[Task]:
    """Tasks from a JSON-lines file in looplab's own fields (unknown fields are errors)."""
    path = Path(path)
    if not path.is_file():
        raise EvalError(f"no task file {path}")
    return tasks_from_rows(read_rows(path), str(path), strict=True)


def table_tasks(
    path: str | Path,
    *,
    split: str | None = None,
    mapping: dict[str, str] | None = None,
    via_datasets: bool = False,
) -> list[Task]:
    """Tasks from a parquet file or a saved ``datasets`` folder (or, ``via_datasets``, any
    file the ``datasets`` library reads), columns renamed by ``mapping`` (field -> column)."""
    rows = read_rows(path, split=split, via_datasets=via_datasets)
    source = str(path) + (f"#{split}" if split else "")
    return tasks_from_rows(rows, source, mapping=mapping or {}, id_prefix=Path(path).stem)


def tasks_from_rows(
    rows: Rows,
    source: str,
    *,
    mapping: dict[str, str] | None = None,
    strict: bool = False,
    id_prefix: str = "",
) -> list[Task]:
    """Validated tasks from rows; ``strict`` refuses columns no field takes."""
    mapping = dict(mapping or {})
    family = mapping.pop("family", None)
    unknown_fields = sorted(set(mapping) - _FIELDS)
    if unknown_fields:
        raise EvalError(
            f"{source}: {unknown_fields[0]!r} is not a task field: map any of "
            f"{', '.join(sorted(_FIELDS - {'metadata'}))}"
        )
    if rows:
        _check_columns(rows[0][1], mapping, source)
    tasks: list[Task] = []
    seen: set[str] = set()
    for index, (where, row) in enumerate(rows):
        data = _task_fields(row, mapping, where, strict)
        if family is not None:
            data["family"] = family
        if "id" not in data and not strict:
            data["id"] = f"{id_prefix}-{index}"
        task = _validated(data, where)
        if task.id in seen:
            raise EvalError(f"{where}: field 'id': duplicate id {task.id!r}")
        seen.add(task.id)
        tasks.append(task)
    if not tasks:
        raise EvalError(f"{source} holds no tasks")
    return tasks


def _check_columns(row: dict[str, Any], mapping: dict[str, str], source: str) -> None:
    """A mapping that names a missing column, or no prompt at all, says what columns exist."""
    columns = ", ".join(row) or "(none)"
    for field, column in mapping.items():
        if column not in row:
            raise EvalError(
                f"{source}: no column {column!r} (mapped to {field}); its columns: {columns}"
            )
    if "prompt" not in mapping and "prompt" not in row:
        raise EvalError(
            f"{source}: no column 'prompt': map one (e.g. :prompt=question); its columns: {columns}"
        )


def _task_fields(
    row: dict[str, Any], mapping: dict[str, str], where: str, strict: bool
) -> dict[str, Any]:
    renamed = {column: field for field, column in mapping.items()}
    data: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for column, value in row.items():
        if column in renamed:
            data[renamed[column]] = value
        elif column in _FIELDS and column not in mapping:
            data[column] = value
        elif strict:
            raise EvalError(f"{where}: unknown field {column!r}")
        else:
            extra[column] = value
    if extra:
        data["metadata"] = {**(data.get("metadata") or {}), **extra}
    answer = data.get("answer")
    if isinstance(answer, int | float) and not isinstance(answer, bool):
        data["answer"] = str(answer)
    return data


def _validated(data: dict[str, Any], where: str) -> Task:
    try:
        task = Task.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(object)"
        raise EvalError(f"{where}: field {field!r}: {first['msg']}") from None
    if task.family not in ANSWER_KINDS:
        raise EvalError(
            f"{where}: field 'family': unknown family {task.family!r}: use one of "
            f"{', '.join(ANSWER_KINDS)}"
        )
    if task.family == "choice":
        letters = [chr(ord("A") + i) for i in range(len(task.choices or []))]
        if len(letters) < 2 or task.answer not in letters:
            raise EvalError(
                f"{where}: field 'answer': a choice task needs 2 or more choices and the "
                f"answer as one of their letters ({', '.join(letters) or 'no choices'})"
            )
    gradable = (
        (task.entry_point and task.hidden_tests)
        if is_code_family(task.family)
        else task.answer is not None
    )
    if not gradable:
        need = "'entry_point' and 'hidden_tests'" if is_code_family(task.family) else "'answer'"
        raise EvalError(f"{where}: field {need}: required to grade a {task.family} task")
    return task
