"""Comparing two runs on the same tasks: paired tests, never unpaired ones."""

from __future__ import annotations

from dataclasses import dataclass

from looplab.errors import EvalError
from looplab.metrics._stats import Estimate, mcnemar_exact, paired_bootstrap
from looplab.records import TaskResult

__all__ = ["Comparison", "compare_results"]


@dataclass(frozen=True)
class Comparison:
    """Two runs on the tasks both finished: accuracies, paired difference and McNemar's test."""

    pairs: int
    accuracy_a: float
    accuracy_b: float
    difference: Estimate
    """Accuracy of B minus A with a paired bootstrap 95% CI."""
    only_a: int
    """Tasks A got right and B wrong."""
    only_b: int
    both: int
    neither: int
    p_value: float
    """Exact McNemar test on the discordant pairs."""
    tokens_a: int
    tokens_b: int


def compare_results(a: list[TaskResult], b: list[TaskResult]) -> Comparison:
    """Pair the runs by (task, sample); only pairs present in both count."""
    index_a = {(r.task_id, r.sample): r for r in a if r.trajectory is not None}
    index_b = {(r.task_id, r.sample): r for r in b if r.trajectory is not None}
    keys = sorted(index_a.keys() & index_b.keys())
    if not keys:
        raise EvalError("the two runs share no finished (task, sample) pair to compare")
    right_a = [index_a[k].final_correct for k in keys]
    right_b = [index_b[k].final_correct for k in keys]
    only_a = sum(x and not y for x, y in zip(right_a, right_b, strict=True))
    only_b = sum(y and not x for x, y in zip(right_a, right_b, strict=True))
    return Comparison(
        pairs=len(keys),
        accuracy_a=sum(right_a) / len(keys),
        accuracy_b=sum(right_b) / len(keys),
        difference=paired_bootstrap(right_a, right_b),
        only_a=only_a,
        only_b=only_b,
        both=sum(x and y for x, y in zip(right_a, right_b, strict=True)),
        neither=sum(not x and not y for x, y in zip(right_a, right_b, strict=True)),
        p_value=mcnemar_exact(only_a, only_b),
        tokens_a=sum(index_a[k].trajectory.usage.total_tokens for k in keys),
        tokens_b=sum(index_b[k].trajectory.usage.total_tokens for k in keys),
    )
