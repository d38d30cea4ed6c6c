"""Comparing two runs on the same tasks: paired by task, never by sample.

The unit is the task. A task's samples are drawn together (they share the
task's difficulty), so treating 20 tasks x 5 samples as 100 independent pairs
overstates the evidence five-fold. Each side's samples of a task are averaged
first; the difference is then over the tasks both runs attempted:

- every task right or wrong on each side (one sample, or samples that agree):
  McNemar's exact test on the discordant tasks and the Bonett-Price interval
  of the paired difference (it does not collapse when no task is discordant);
- otherwise: a paired sign-flip permutation test on the per-task differences
  and a percentile bootstrap over tasks.

Failed tasks count as wrong on their side (intention to treat), and the
comparison says how many each side had, so an arm that fails more cannot
look better by leaving its failures out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from looplab.errors import EvalError
from looplab.metrics._stats import (
    BONETT_PRICE,
    Estimate,
    bootstrap_sums,
    mcnemar_exact,
    paired_difference_interval,
    power_tasks,
    ratio,
    sign_flip_test,
)
from looplab.records import TaskResult

__all__ = ["Comparison", "compare_results"]


@dataclass(frozen=True)
class Comparison:
    """Two runs on the tasks both attempted: accuracies, the paired difference and its test."""

    pairs: int
    """Tasks paired: attempted by both runs (each side's samples averaged)."""
    tasks_a: int
    """Tasks run A attempted (paired or not)."""
    tasks_b: int
    samples_a: int
    """Results (task x sample) of A on the paired tasks."""
    samples_b: int
    failed_a: int
    """Paired tasks with at least one failed result in A (failures count as wrong)."""
    failed_b: int
    accuracy_a: float
    accuracy_b: float
    difference: Estimate
    """Accuracy of B minus A over the paired tasks, with its 95% interval."""
    only_a: int
    """Tasks A got right and B wrong (for tasks with several samples: A did better)."""
    only_b: int
    both: int
    """Tasks both got right (several samples: equal scores above 0)."""
    neither: int
    p_value: float
    test: str
    """``McNemar exact`` (every task right or wrong on each side) or ``sign-flip
    permutation`` (per-task shares of samples)."""
    tokens_a: int
    tokens_b: int
    power_tasks: int | None
    """Tasks needed to detect a difference of the observed size with 80% power at 5%
    (Connor 1987), the observed discordance taken as the truth; None for no difference."""

    @property
    def unit(self) -> str:
        """What was paired, in words."""
        return f"{self.pairs} tasks"

    @property
    def failures_differ(self) -> bool:
        """True when the two sides failed on different numbers of paired tasks."""
        return self.failed_a != self.failed_b


def _by_task(results: list[TaskResult]) -> dict[str, list[TaskResult]]:
    grouped: dict[str, list[TaskResult]] = defaultdict(list)
    for r in results:
        grouped[r.task_id].append(r)
    return grouped


def _score(results: list[TaskResult]) -> float:
    """A task's accuracy on one side: the share of its samples right, failures wrong."""
    return sum(r.final_correct for r in results) / len(results)


def _tokens(results: list[TaskResult]) -> int:
    return sum(r.trajectory.usage.total_tokens for r in results if r.trajectory is not None)


def compare_results(a: list[TaskResult], b: list[TaskResult]) -> Comparison:
    """Pair the runs by task: each side's samples of a task averaged, failures wrong."""
    tasks_a, tasks_b = _by_task(a), _by_task(b)
    keys = sorted(tasks_a.keys() & tasks_b.keys())
    if not keys:
        raise EvalError("the two runs share no task to compare")
    score_a = np.array([_score(tasks_a[k]) for k in keys])
    score_b = np.array([_score(tasks_b[k]) for k in keys])
    d = score_b - score_a
    only_a, only_b = int((d < 0).sum()), int((d > 0).sum())
    binary = bool(np.all(np.isin(score_a, (0.0, 1.0))) and np.all(np.isin(score_b, (0.0, 1.0))))
    n = len(keys)
    value = float(d.mean())
    if binary:
        low, high = paired_difference_interval(only_a, only_b, n)
        difference = Estimate(value, low, high, n, BONETT_PRICE)
        p_value, test = mcnemar_exact(only_a, only_b), "McNemar exact"
    else:
        difference = bootstrap_sums({"d": ratio(d, np.ones(n))}, n)["d"]
        if difference.low == difference.high:  # every task's difference the same
            low, high = paired_difference_interval(only_a, only_b, n)
            difference = Estimate(value, low, high, n, BONETT_PRICE)
        p_value, test = sign_flip_test(d), "sign-flip permutation"
    failed = [
        sum(any(r.trajectory is None for r in side[k]) for k in keys) for side in (tasks_a, tasks_b)
    ]
    return Comparison(
        pairs=n,
        tasks_a=len(tasks_a),
        tasks_b=len(tasks_b),
        samples_a=sum(len(tasks_a[k]) for k in keys),
        samples_b=sum(len(tasks_b[k]) for k in keys),
        failed_a=failed[0],
        failed_b=failed[1],
        accuracy_a=float(score_a.mean()),
        accuracy_b=float(score_b.mean()),
        difference=difference,
        only_a=only_a,
        only_b=only_b,
        both=int(((d == 0) & (score_a > 0)).sum()),
        neither=int(((d == 0) & (score_a == 0)).sum()),
        p_value=p_value,
        test=test,
        tokens_a=sum(_tokens(tasks_a[k]) for k in keys),
        tokens_b=sum(_tokens(tasks_b[k]) for k in keys),
        power_tasks=power_tasks(only_a, only_b, n),
    )
