"""Statistics for reports: bootstrap intervals, pass@k, McNemar's test. Pure functions.

Every rate a report shows is a function of *sums over tasks*: accuracy is
(right answers) / (answers), a critic's recall is (wrong answers it flagged)
/ (wrong answers it judged), ECE is a sum over bins of |sum of outcomes -
sum of confidences| / judgements. So each metric is given as a few columns
of per-task sums (``SumStatistic``), and ``bootstrap_sums`` resamples tasks
for all metrics at once: one matrix of resample counts (resample x task,
drawn in chunks), multiplied by the stacked per-task columns. That is linear
in the tasks, and every metric of a report sees the same resampled task sets.
The generic ``bootstrap(units, statistic)`` remains for statistics that are
not sums; it is exact but calls ``statistic`` once per resample.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

__all__ = [
    "BOOTSTRAP_SEED",
    "Estimate",
    "SumStatistic",
    "TaskIndex",
    "bootstrap",
    "bootstrap_sums",
    "mcnemar_exact",
    "paired_bootstrap",
    "pass_at_k",
    "rate",
    "resample_counts",
    "ratio",
]

T = TypeVar("T")
K = TypeVar("K")

RESAMPLES = 2000
CONFIDENCE = 0.95
BOOTSTRAP_SEED = 0
"""The seed of every report's resamples: the same tasks give the same intervals."""

_CELLS_PER_CHUNK = 4_000_000
"""Resample-count cells (resamples x tasks) drawn at once: bounds memory at any size."""


@dataclass(frozen=True)
class Estimate:
    """A statistic with its 95% bootstrap interval (percentile method)."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    """How many units (tasks) it was computed from."""

    def __str__(self) -> str:
        if self.value is None:
            return "n/a"
        if self.low is None or self.high is None:
            return f"{self.value:.3f}"
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class SumStatistic:
    """A statistic computed from sums over units of per-unit columns.

    ``columns`` is (units, k); ``combine`` maps sums of shape (resamples, k)
    to values of shape (resamples,), NaN where the statistic is undefined
    (no wrong answer to repair, say).
    """

    columns: np.ndarray
    combine: Callable[[np.ndarray], np.ndarray]


def _divide(sums: np.ndarray) -> np.ndarray:
    num, den = sums[:, 0], sums[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def ratio(numerator: Sequence[float], denominator: Sequence[float]) -> SumStatistic:
    """sum(numerator) / sum(denominator) over the units; undefined where the denominator is 0.

    A pooled share: ``ratio(right answers per task, answers per task)`` is accuracy
    over every answer, each task weighing as many answers as it has.
    """
    columns = np.column_stack(
        [np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)]
    )
    return SumStatistic(columns.reshape(-1, 2), _divide)


class TaskIndex:
    """Results grouped by task (given as their task ids): the units every interval resamples.

    ``per_task(values, rows)`` sums per-result (or per-event) values into one
    number per task, the column a ``SumStatistic`` takes.
    """

    def __init__(self, task_ids: Sequence[str]) -> None:
        # Tasks in sorted order, not in the order results arrived: a run finished at
        # another concurrency, or resumed, gets the same intervals.
        positions = {t: i for i, t in enumerate(sorted(set(task_ids)))}
        self.of_result = np.array([positions[t] for t in task_ids], dtype=np.intp)
        self.tasks = len(positions)
        self.position = positions

    def per_task(self, values, rows: np.ndarray | None = None) -> np.ndarray:
        """Sum ``values`` (one per result, or one per row of ``rows``: task positions)."""
        rows = self.of_result if rows is None else rows
        weights = np.asarray(values, dtype=float)
        if weights.size == 0:
            return np.zeros(self.tasks)
        return np.bincount(rows, weights=weights, minlength=self.tasks)

    def share(self, flags, where=None, rows: np.ndarray | None = None) -> SumStatistic:
        """The pooled share of ``flags`` among the items ``where`` holds (all when None)."""
        flags = np.asarray(flags, dtype=bool)
        where = np.ones(flags.shape, dtype=bool) if where is None else np.asarray(where, bool)
        return ratio(self.per_task(flags & where, rows), self.per_task(where, rows))


def resample_counts(
    units: int, resamples: int, seed: int, *, cells_per_chunk: int = _CELLS_PER_CHUNK
):
    """Yield (chunk, units) arrays: how often each unit is drawn in each resample.

    The chunks are consecutive rows of one random stream: how many cells a chunk
    holds bounds memory, never the counts drawn."""
    rng = np.random.default_rng(seed)
    per_chunk = max(1, cells_per_chunk // max(units, 1))
    done = 0
    while done < resamples:
        rows = min(per_chunk, resamples - done)
        draws = rng.integers(0, units, size=(rows, units))
        offsets = (np.arange(rows) * units)[:, None]
        counts = np.bincount((draws + offsets).ravel(), minlength=rows * units)
        yield counts.reshape(rows, units).astype(float)
        done += rows


def percentile_interval(value: float, draws: np.ndarray, units: int) -> Estimate:
    draws = draws[~np.isnan(draws)]
    if draws.size == 0:
        return Estimate(value, None, None, units)
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.percentile(draws, [100 * alpha, 100 * (1 - alpha)])
    return Estimate(value, float(low), float(high), units)


def bootstrap_sums(
    statistics: Mapping[K, SumStatistic],
    units: int,
    *,
    resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[K, Estimate]:
    """Every statistic with a percentile bootstrap 95% interval over ``units``.

    All statistics share the resamples: one draw of task sets serves them all.
    Resamples where a statistic is undefined are left out of its interval.
    """
    names = list(statistics)
    if units == 0:
        return {name: Estimate(None, None, None, 0) for name in names}
    blocks = [statistics[name].columns for name in names]
    for name, block in zip(names, blocks, strict=True):
        if block.shape[0] != units:
            raise ValueError(f"statistic {name!r} has {block.shape[0]} rows for {units} units")
    stacked = np.hstack(blocks) if blocks else np.zeros((units, 0))
    totals = stacked.sum(axis=0, keepdims=True)
    sums = np.vstack([counts @ stacked for counts in resample_counts(units, resamples, seed)])
    estimates, start = {}, 0
    for name, block in zip(names, blocks, strict=True):
        width = block.shape[1]
        combine = statistics[name].combine
        value = float(combine(totals[:, start : start + width])[0])
        if math.isnan(value):
            estimates[name] = Estimate(None, None, None, units)
        else:
            draws = combine(sums[:, start : start + width])
            estimates[name] = percentile_interval(value, draws, units)
        start += width
    return estimates


def bootstrap(
    units: Sequence[T],
    statistic: Callable[[Sequence[T]], float | None],
    *,
    resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Estimate:
    """``statistic`` over ``units`` (tasks) with a percentile bootstrap 95% interval.

    For any statistic; the report's own metrics use ``bootstrap_sums``, which
    is linear in the units. Units are resampled with replacement, so the
    interval reflects which tasks happened to be drawn. Resamples where the
    statistic is undefined (e.g. no wrong answers to repair) are left out.
    """
    value = statistic(units) if units else None
    if value is None:
        return Estimate(None, None, None, len(units))
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, len(units), size=(resamples, len(units)))
    draws = [statistic([units[i] for i in row]) for row in indices.tolist()]
    found = np.array([d for d in draws if d is not None], dtype=float)
    return percentile_interval(value, found, len(units))


def rate(flags: Sequence[bool]) -> float | None:
    """The share of True, or None for no data."""
    return sum(flags) / len(flags) if flags else None


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator of pass@k (Chen et al. 2021) from n samples with c correct.

    >>> pass_at_k(10, 0, 1), pass_at_k(10, 10, 5), round(pass_at_k(5, 2, 2), 4)
    (0.0, 1.0, 0.7)
    """
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per task, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - i) / (n - i) for i in range(k))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts b and c.

    The exact test is a binomial test of b successes in b + c trials at p = 1/2
    (scipy's ``binomtest``).

    >>> mcnemar_exact(0, 0)
    1.0
    >>> round(mcnemar_exact(1, 9), 4)
    0.0215
    """
    if b + c == 0:
        return 1.0
    from scipy.stats import binomtest  # imported here: it costs ~0.3 s at start-up

    return float(min(1.0, binomtest(b, b + c, 0.5).pvalue))


def paired_bootstrap(
    a: Sequence[bool],
    b: Sequence[bool],
    *,
    resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Estimate:
    """Accuracy of b minus accuracy of a on the same tasks, with a paired bootstrap interval."""
    if len(a) != len(b):
        raise ValueError("paired samples must have the same length")
    difference = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    statistic = ratio(difference, np.ones(len(difference)))
    return bootstrap_sums({"d": statistic}, len(difference), resamples=resamples, seed=seed)["d"]
