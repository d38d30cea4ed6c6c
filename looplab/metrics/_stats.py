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

Not every interval is a bootstrap. A percentile bootstrap of a share collapses
to [0, 0] at 0 of n and covers far below 95% at small n (67% at p = 0.05,
n = 20), so a share of tasks -- each task counted once, right or wrong -- gets
the Clopper-Pearson interval, and a paired difference of two such shares the
Bonett-Price adjusted Wald interval (its coverage: benchmarks/bench_coverage.py).
The bootstrap is kept where there is no closed form: shares pooled over a
task's several answers, AUROC, ECE. Every ``Estimate`` names its interval.
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
    "INTERVAL_NAMES",
    "holm",
    "interval_name",
    "mcnemar_exact",
    "paired_bootstrap",
    "paired_difference_interval",
    "power_tasks",
    "proportion_interval",
    "sign_flip_test",
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


BOOTSTRAP = "bootstrap"
CLOPPER_PEARSON = "clopper-pearson"
BONETT_PRICE = "bonett-price"
"""The method of a paired difference of shares: Bonett & Price's adjusted Wald interval."""
INTERVAL_NAMES = {
    BOOTSTRAP: "percentile bootstrap over tasks",
    CLOPPER_PEARSON: "Clopper-Pearson (exact binomial)",
    BONETT_PRICE: "Bonett-Price adjusted Wald (paired)",
}
"""Each interval method's key -> how a report names it."""


@dataclass(frozen=True)
class Estimate:
    """A statistic with its 95% interval, and which interval that is (``method``)."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    """How many units (tasks) it was computed from."""
    method: str = BOOTSTRAP
    """The interval: ``bootstrap`` (percentile, resampling tasks), ``clopper-pearson``
    (a share of tasks) or ``bonett-price`` (a paired difference of shares of tasks)."""

    def __str__(self) -> str:
        if self.value is None:
            return "n/a"
        if self.low is None or self.high is None:
            return f"{self.value:.3f}"
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def interval_name(estimate: Estimate) -> str:
    """How a report names ``estimate``'s interval."""
    return INTERVAL_NAMES.get(estimate.method, estimate.method)


@dataclass(frozen=True)
class SumStatistic:
    """A statistic computed from sums over units of per-unit columns.

    ``columns`` is (units, k); ``combine`` maps sums of shape (resamples, k)
    to values of shape (resamples,), NaN where the statistic is undefined
    (no wrong answer to repair, say).
    """

    columns: np.ndarray
    combine: Callable[[np.ndarray], np.ndarray]
    share: bool = False
    """True for ``numerator / denominator`` with the numerator counting a subset of
    what the denominator counts: a proportion, whose interval need not be a bootstrap
    (see ``share_interval``)."""


def _divide(sums: np.ndarray) -> np.ndarray:
    num, den = sums[:, 0], sums[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def ratio(
    numerator: Sequence[float], denominator: Sequence[float], *, share: bool = False
) -> SumStatistic:
    """sum(numerator) / sum(denominator) over the units; undefined where the denominator is 0.

    A pooled share: ``ratio(right answers per task, answers per task)`` is accuracy
    over every answer, each task weighing as many answers as it has; ``share=True``
    says the numerator counts part of what the denominator counts (a proportion).
    """
    columns = np.column_stack(
        [np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)]
    )
    return SumStatistic(columns.reshape(-1, 2), _divide, share=share)


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

    def restricted(self, kept) -> TaskIndex:
        """The same tasks, for the results ``kept`` (a boolean mask over the results):
        statistics of the answered results, resampled over every task."""
        made = object.__new__(TaskIndex)
        made.of_result = self.of_result[np.asarray(kept, dtype=bool)]
        made.tasks, made.position = self.tasks, self.position
        return made

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
        return ratio(self.per_task(flags & where, rows), self.per_task(where, rows), share=True)


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
            if statistics[name].share:
                estimates[name] = share_interval(block, estimates[name])
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


def proportion_interval(successes: int, trials: int) -> tuple[float, float]:
    """The Clopper-Pearson 95% interval of ``successes`` of ``trials`` (scipy's exact one).

    Its coverage is at least 95% at every p and n (it inverts the binomial test), where
    Wilson's dips to 91% at n = 10 and a percentile bootstrap to 67%.

    >>> [round(x, 4) for x in proportion_interval(0, 20)]
    [0.0, 0.1684]
    """
    if trials <= 0:
        raise ValueError("a proportion needs at least one trial")
    from scipy.stats import binomtest

    ci = binomtest(int(successes), int(trials)).proportion_ci(CONFIDENCE, method="exact")
    return float(ci.low), float(ci.high)


def share_interval(columns: np.ndarray, bootstrapped: Estimate) -> Estimate:
    """A share's interval from its per-task (numerator, denominator) columns.

    Each task counted at most once (a share of tasks): Clopper-Pearson on the counts.
    Tasks counted several times (a loop's judged attempts, several samples): the
    bootstrap over tasks, unless it collapsed to one point (every task at 0% or at
    100%): then Clopper-Pearson on the number of tasks, the honest width for clusters
    that all agree."""
    if bootstrapped.value is None:
        return bootstrapped
    numerator, denominator = columns[:, 0], columns[:, 1]
    counted = denominator > 0
    tasks = int(counted.sum())
    if tasks == 0:
        return bootstrapped
    whole = bool(np.all(numerator == np.round(numerator)))
    if denominator.max() <= 1 and whole:
        low, high = proportion_interval(round(numerator.sum()), int(denominator.sum()))
    elif bootstrapped.low is not None and bootstrapped.low == bootstrapped.high:
        low, high = proportion_interval(round(bootstrapped.value * tasks), tasks)
    else:
        return bootstrapped
    return Estimate(bootstrapped.value, low, high, bootstrapped.n, CLOPPER_PEARSON)


def paired_difference_interval(only_a: int, only_b: int, pairs: int) -> tuple[float, float]:
    """Bonett & Price's (2012) adjusted Wald 95% interval of accuracy(B) - accuracy(A)
    from paired binary outcomes: ``only_a`` pairs only A got right, ``only_b`` only B.

    It adds one to each discordant cell and two to the pairs, so it never collapses,
    not even with no discordant pair; its exact coverage is at least 95% over the grid
    of benchmarks/bench_coverage.py, where Newcombe's method 10 dips to 81%.

    >>> [round(x, 4) for x in paired_difference_interval(0, 4, 20)]
    [-0.0228, 0.3864]
    """
    if pairs <= 0:
        raise ValueError("a paired difference needs at least one pair")
    z = 1.959963984540054
    b = (only_b + 1) / (pairs + 2)
    a = (only_a + 1) / (pairs + 2)
    center = b - a
    half = z * math.sqrt(max(0.0, (a + b - center**2) / (pairs + 2)))
    return max(-1.0, center - half), min(1.0, center + half)


def sign_flip_test(differences: Sequence[float], *, seed: int = BOOTSTRAP_SEED) -> float:
    """Two-sided paired permutation test of mean difference 0: each task's difference
    (B - A, its samples averaged) keeps its size and flips its sign at random.

    With differences of -1, 0 and 1 only it is the exact McNemar test; otherwise exact
    up to 2**16 sign patterns (scipy's ``permutation_test``) and Monte Carlo beyond."""
    d = np.asarray([x for x in differences if x != 0], dtype=float)
    if d.size == 0:
        return 1.0
    if np.all(np.isin(d, (-1.0, 1.0))):
        return mcnemar_exact(int((d < 0).sum()), int((d > 0).sum()))
    from scipy.stats import permutation_test

    result = permutation_test(
        (d,),
        np.mean,
        permutation_type="samples",
        n_resamples=2**16,
        alternative="two-sided",
        rng=np.random.default_rng(seed),
    )
    return float(min(1.0, result.pvalue))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (Holm 1979), in the order given: a family of m
    tests whose adjusted p < 0.05 rejects with a familywise error rate of at most 5%.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def power_tasks(only_a: int, only_b: int, pairs: int, *, power: float = 0.8) -> int | None:
    """Tasks a paired comparison needs to detect the observed difference with McNemar's
    test at two-sided 5% and the given power (Connor 1987), the observed discordance
    taken as the truth; None when there is no difference to detect."""
    if pairs <= 0 or only_a == only_b:
        return None
    from scipy.stats import norm

    discordant = (only_a + only_b) / pairs
    delta = abs(only_b - only_a) / pairs
    z_alpha, z_beta = norm.ppf(1 - (1 - CONFIDENCE) / 2), norm.ppf(power)
    n = (z_alpha * math.sqrt(discordant) + z_beta * math.sqrt(discordant - delta**2)) ** 2
    return math.ceil(n / delta**2)
