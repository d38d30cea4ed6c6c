"""A run as a table: one row per attempt, for pandas and CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from looplab.files import write_file
from looplab.records import TaskResult
from looplab.runs import read_results

__all__ = ["attempt_rows", "load_run", "write_csv"]

COLUMNS = [
    "task_id",
    "sample",
    "graph",
    "iteration",
    "kind",
    "answer",
    "correct",
    "final",
    "chosen",
    "verdict",
    "confidence",
    "critic_parsed",
    "tool_calls",
    "tool_errors",
    "attempt_tokens",
    "critique_tokens",
    "stop_reason",
    "oracle",
    "error",
]


def attempt_rows(results: list[TaskResult]) -> list[dict[str, Any]]:
    """One row per attempt (task, sample, iteration, answer, grade, critique, tokens)."""
    rows = []
    for r in results:
        t = r.trajectory
        if t is None:
            rows.append({"task_id": r.task_id, "sample": r.sample, "error": r.error})
            continue
        final_index = t.final_index
        for i, attempt in enumerate(t.attempts):
            critiques = [c for c in t.critiques if c.iteration == attempt.iteration]
            critique = critiques[-1] if critiques else None
            rows.append(
                {
                    "task_id": r.task_id,
                    "sample": r.sample,
                    "graph": t.graph,
                    "iteration": attempt.iteration,
                    "kind": attempt.kind,
                    "answer": attempt.answer,
                    "correct": r.grades[i] if i < len(r.grades) else None,
                    "final": i == final_index,
                    "chosen": t.chosen == i,
                    "verdict": critique.verdict if critique else None,
                    "confidence": critique.confidence if critique else None,
                    "critic_parsed": critique.parsed if critique else None,
                    "tool_calls": len(attempt.tool_calls),
                    "tool_errors": sum(not c.ok for c in attempt.tool_calls),
                    "attempt_tokens": attempt.usage.total_tokens,
                    "critique_tokens": sum(c.usage.total_tokens for c in critiques),
                    "stop_reason": t.stop_reason,
                    "oracle": t.oracle,
                    "error": None,
                }
            )
    return rows


def load_run(run_dir: str | Path) -> Any:
    """A run as a pandas DataFrame, one row per attempt (pandas must be installed)."""
    import pandas as pd

    return pd.DataFrame(attempt_rows(read_results(run_dir)), columns=COLUMNS)


def write_csv(results: list[TaskResult], path: str | Path) -> Path:
    """Write the run's attempt rows as CSV."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for row in attempt_rows(results):
        writer.writerow(row)
    return write_file(path, buffer.getvalue())
