"""Public data sets from a path: GSM8K (``gsm8k:PATH``) and BIG-Bench Mistake (``bbmistake:PATH``).

Nothing is downloaded and nothing is bundled: the loaders read the files
where the user keeps them (the public originals: openai/grade-school-math,
``grade_school_math/data/test.jsonl``; WHGTyen/BIG-Bench-Mistake, one
``TASK.jsonl`` per BIG-Bench task).

GSM8K: ``{"question", "answer"}`` per line (or per row of a parquet file or a saved
``datasets`` folder, as the Hugging Face copies are); the reference is the number on
the answer's last line ``#### N`` (commas removed); the worked solution is
kept in ``metadata["solution"]`` (never shown to a loop).

BIG-Bench Mistake: ``{"input", "steps", "answer", "target",
"mistake_index"}`` per line. Each trace becomes a task whose ``draft`` is
its steps, whose reference is ``target`` and whose ``metadata`` holds the
labelled first mistake as a 1-based ``mistake_step`` (None: the annotators
found none) and the BIG-Bench task's name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from looplab.errors import EvalError
from looplab.records import Task
from looplab.tasks._rows import is_dataset_folder, read_rows, split_suffix

__all__ = ["BBM_TASKS", "bbmistake_tasks", "gsm8k_reference", "gsm8k_tasks"]

BBM_TASKS = (
    "dyck_languages",
    "logical_deduction",
    "multistep_arithmetic",
    "tracking_shuffled_objects",
    "word_sorting",
)
"""BIG-Bench Mistake's five tasks."""
_REFERENCE = re.compile(r"^####\s*(.+?)\s*$", re.MULTILINE)


def _field(row: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = row.get(name)
    if not isinstance(value, kind):
        raise EvalError(f"{where}: field {name!r} must be a {kind.__name__}")
    return value


def gsm8k_reference(solution: str) -> str:
    """The reference number of a GSM8K solution: its ``#### N`` line, commas removed.

    >>> gsm8k_reference("Natalia sold 48/2 = <<48/2=24>>24 clips.\\n#### 1,272")
    '1272'
    """
    found = _REFERENCE.findall(solution)
    if not found:
        raise EvalError("no '#### N' line")
    return found[-1].replace(",", "").strip()


def gsm8k_tasks(path: str | Path) -> list[Task]:
    """GSM8K from a JSONL or parquet file, a folder holding ``test.jsonl``, or a saved
    ``datasets`` folder (``PATH#SPLIT`` picks a split). Row i is task ``gsm8k-i``."""
    path, split = split_suffix(path)
    if path.is_dir() and not is_dataset_folder(path):
        path = path / "test.jsonl"
    tasks = []
    for index, (where, row) in enumerate(read_rows(path, split=split)):
        number = index + 1
        question = _field(row, "question", str, where)
        solution = _field(row, "answer", str, where)
        try:
            reference = gsm8k_reference(solution)
        except EvalError as exc:
            raise EvalError(f"{where}: {exc}") from None
        tasks.append(
            Task(
                id=f"gsm8k-{number - 1}",
                prompt=question,
                family="gsm8k",
                answer=reference,
                metadata={"solution": solution, "source": str(path), "line": number},
            )
        )
    return tasks


def bbmistake_tasks(path: str | Path, *, per_task: int | None = None) -> list[Task]:
    """BIG-Bench Mistake from one task's JSONL file or the folder of all five.

    ``per_task`` keeps the first N traces of each task (spec ``bbmistake:PATH#N``), so a
    small study covers all five tasks rather than the first N of the first one.
    """
    text = str(path)
    head, sep, tail = text.rpartition("#")
    if sep and tail.isdigit():
        path, per_task = head, int(tail)
    path = Path(path)
    if path.is_dir():
        files = [path / f"{name}.jsonl" for name in BBM_TASKS]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise EvalError(f"{path} lacks {', '.join(missing)}")
    else:
        files = [path]
    tasks = []
    for file in files:
        rows = read_rows(file)
        for position, (where, row) in enumerate(rows[:per_task] if per_task is not None else rows):
            number = position + 1
            steps = _field(row, "steps", list, where)
            if not steps or not all(isinstance(s, str) for s in steps):
                raise EvalError(f"{where}: field 'steps' must be a non-empty list of strings")
            index = row.get("mistake_index")
            if index is not None and not (isinstance(index, int) and 0 <= index < len(steps)):
                raise EvalError(f"{where}: mistake_index {index!r} is not a step index")
            target = _field(row, "target", str, where)
            tasks.append(
                Task(
                    id=f"bbm-{file.stem}-{number - 1}",
                    prompt=_field(row, "input", str, where),
                    family="bbmistake",
                    answer=target,
                    draft=steps,
                    metadata={
                        "bbm_task": file.stem,
                        "mistake_step": None if index is None else index + 1,
                        "trace_answer": row.get("answer"),
                    },
                )
            )
    return tasks
