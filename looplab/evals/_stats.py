"""Statistics for reports: bootstrap intervals, pass@k, McNemar's test. Pure functions."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Estimate", "bootstrap", "mcnemar_exact", "paired_bootstrap", "pass_at_k", "rate"]

T = TypeVar("T")

RESAMPLES = 2000
CONFIDENCE = 0.95


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


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    position = q * (len(sorted_values) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)


def bootstrap(
    units: Sequence[T],
    statistic: Callable[[Sequence[T]], float | None],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """``statistic`` over ``units`` (tasks) with a percentile bootstrap 95% interval.

    Units are resampled with replacement, so the interval reflects which
    tasks happened to be drawn. Resamples where the statistic is undefined
    (e.g. no wrong answers to repair) are left out.
    """
    value = statistic(units) if units else None
    if value is None:
        return Estimate(None, None, None, len(units))
    rng = random.Random(seed)
    draws = []
    for _ in range(resamples):
        sample = [units[rng.randrange(len(units))] for _ in units]
        result = statistic(sample)
        if result is not None:
            draws.append(result)
    if not draws:
        return Estimate(value, None, None, len(units))
    draws.sort()
    alpha = (1 - CONFIDENCE) / 2
    return Estimate(value, _percentile(draws, alpha), _percentile(draws, 1 - alpha), len(units))


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

    >>> mcnemar_exact(0, 0)
    1.0
    >>> round(mcnemar_exact(1, 9), 4)
    0.0215
    """
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_bootstrap(
    a: Sequence[bool], b: Sequence[bool], *, resamples: int = RESAMPLES, seed: int = 0
) -> Estimate:
    """Accuracy of b minus accuracy of a on the same tasks, with a paired bootstrap interval."""
    if len(a) != len(b):
        raise ValueError("paired samples must have the same length")
    pairs = list(zip(a, b, strict=True))
    return bootstrap(
        pairs,
        lambda sample: sum(y - x for x, y in sample) / len(sample),
        resamples=resamples,
        seed=seed,
    )
