"""Olausson et al.'s self-repair estimator: every (n_p, n_fr) cell from one pool.

A ``repair_pool`` run holds, per task, several samples; each sample is one
initial program (attempt 0) with its visible-test verdict (critique 0) and,
when it failed, independent repairs of it (attempts 1..). For a cell
(n_p initial programs, n_fr repairs per failing program) the estimator
draws, many times and without replacement, n_p programs of the task's pool
and n_fr repairs of each one that failed its visible tests; the task counts
as solved when any drawn program passes the hidden tests, and its cost is
the tokens of everything drawn. The per-task expectations are averaged over
tasks, with a bootstrap CI over tasks. ``n_fr = 0`` is the baseline of
sampling without repair, on the same token axis.
"""

from __future__ import annotations

import random
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from looplab.metrics._stats import Estimate, bootstrap_sums, ratio
from looplab.records import TaskResult

__all__ = ["GridCell", "PoolProgram", "expected_cell", "pools", "self_repair_grid"]


@dataclass(frozen=True)
class PoolProgram:
    """One initial program of the pool and the repairs drawn for it."""

    passed_hidden: bool
    failed_visible: bool
    """Its visible tests failed: only then is it repaired."""
    tokens: int
    repairs: tuple[tuple[bool, int], ...] = ()
    """(passed the hidden tests, tokens) of each independent repair."""


def pools(results: Sequence[TaskResult]) -> dict[str, list[PoolProgram]]:
    """The pool of each task, from the results of a ``repair_pool`` run."""
    found: dict[str, list[PoolProgram]] = defaultdict(list)
    for r in results:
        t = r.trajectory
        if t is None or not t.attempts or not r.grades:
            continue
        check = t.critiques[0] if t.critiques else None
        first_tokens = t.attempts[0].usage.total_tokens + (check.usage.total_tokens if check else 0)
        repairs = tuple(
            (r.grades[i], a.usage.total_tokens) for i, a in enumerate(t.attempts) if i > 0
        )
        found[r.task_id].append(
            PoolProgram(
                passed_hidden=r.grades[0],
                failed_visible=check is not None and check.verdict == "incorrect",
                tokens=first_tokens,
                repairs=repairs,
            )
        )
    return dict(found)


def expected_cell(
    pool: Sequence[PoolProgram], n_p: int, n_fr: int, *, draws: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """(P(solved), mean tokens) of one task's cell; None if the pool is too small for it."""
    if n_p > len(pool) or any(p.failed_visible and len(p.repairs) < n_fr for p in pool):
        return None
    rng = random.Random(seed)
    solved = tokens = 0.0
    for _ in range(draws):
        ok, cost = False, 0
        for program in rng.sample(list(pool), n_p):
            ok = ok or program.passed_hidden
            cost += program.tokens
            if program.failed_visible and n_fr:
                for passed, used in rng.sample(list(program.repairs), n_fr):
                    ok = ok or passed
                    cost += used
        solved += ok
        tokens += cost
    return solved / draws, tokens / draws


@dataclass(frozen=True)
class GridCell:
    """One (n_p, n_fr) cell of the self-repair grid: pass rate and tokens, with intervals."""

    n_p: int
    n_fr: int
    pass_rate: Estimate
    tokens: Estimate
    """Mean tokens per task."""
    tasks: int
    """Tasks whose pool was large enough for this cell."""


def self_repair_grid(
    results: Sequence[TaskResult],
    n_ps: Sequence[int] = (1, 2, 5),
    n_frs: Sequence[int] = (0, 1, 3),
    *,
    draws: int = 1000,
) -> list[GridCell]:
    """Every cell that the pool supports, with bootstrap CIs over tasks."""
    by_task = pools(results)
    cells = []
    for n_p in n_ps:
        for n_fr in n_frs:
            values = [
                cell
                for task_id, pool in sorted(by_task.items())
                if (
                    cell := expected_cell(
                        pool, n_p, n_fr, draws=draws, seed=zlib.crc32(task_id.encode())
                    )
                )
                is not None
            ]
            if not values:
                continue

            ones = [1.0] * len(values)
            found = bootstrap_sums(
                {
                    "pass_rate": ratio([v[0] for v in values], ones, share=True),
                    "tokens": ratio([v[1] for v in values], ones),
                },
                len(values),
            )
            cells.append(GridCell(n_p=n_p, n_fr=n_fr, tasks=len(values), **found))
    return cells
