"""How well a confidence separates right answers from wrong ones, with bootstrap CIs.

For one confidence source over n answers (confidence c_i in [0, 1], outcome
y_i right or wrong), the report's metrics:

- **AUROC**: the probability that a random right answer has higher confidence
  than a random wrong one (ties count a half); 0.5 is no information.
- **Risk-coverage**: answer only the most confident share (the coverage) of the
  questions; the risk is the error rate among them. ``aurc`` is the area under
  that curve as Geifman et al. (2019) define it, the mean over i = 1..n of the
  risk of the i most confident answers (lower is better); ``selective accuracy``
  the accuracy of the most confident ``coverage`` x n answers, exactly that
  many (a fractional last answer counts in part). Tied confidences have no
  order: both are averaged over every order of each tie group, in closed
  form (the expected number of wrong answers among j drawn from a group is
  j x its wrong share; summed over j with harmonic numbers).
- **Reliability**: confidence against accuracy in ten equal-width bins; **ECE**
  the answer-weighted mean gap between them, **Brier** the mean squared error.

Every metric is written once, for a matrix of weights (resample x task: how
often the bootstrap drew each task), so the point estimate (weights all one)
and every resample are the same computation. Sorted by confidence, tie
groups and bins are runs, and each metric needs only the weight per tie
group and per bin: sparse (task x group) sums, so 100,000 judgements take
~2.6 s with 2,000 resamples. A task may hold several answers (a loop's
critiques); they are drawn together. Answers whose source gave no confidence
are left out of that source's metrics (``n`` says how many remain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from looplab.metrics._stats import (
    BOOTSTRAP_SEED,
    CLOPPER_PEARSON,
    RESAMPLES,
    Estimate,
    percentile_interval,
    proportion_interval,
    resample_counts,
)

__all__ = [
    "COVERAGE",
    "ConfidenceMetrics",
    "ReliabilityBin",
    "confidence_metrics",
    "reliability_bins",
    "risk_coverage",
]

COVERAGE = 0.5
"""The coverage at which selective accuracy is reported."""
_BINS = 10
CURVE_POINTS = 200
"""The most points of a risk-coverage curve a report keeps."""


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of a reliability diagram: mean confidence against accuracy, with its count."""

    low: float
    high: float
    answers: int
    confidence: float | None
    """Mean confidence of the answers in the bin."""
    accuracy: float | None


@dataclass(frozen=True)
class ConfidenceMetrics:
    """One source's metrics over the answers it scored, each with a 95% interval."""

    n: int
    right: int
    auroc: Estimate
    aurc: Estimate
    selective_accuracy: Estimate
    """Accuracy among the ``COVERAGE`` most confident answers."""
    ece: Estimate
    brier: Estimate
    bins: list[ReliabilityBin]
    curve: list[tuple[float, float]] = field(default_factory=list)
    """The risk-coverage curve, (coverage, risk), at most ``CURVE_POINTS`` of its points."""


def _arrays(confidences: Sequence[float | None], correct: Sequence[bool]):
    c = np.array([np.nan if v is None else v for v in confidences], dtype=float)
    y = np.asarray(correct, dtype=bool)
    kept = ~np.isnan(c)
    return c[kept], y[kept]


@dataclass(frozen=True)
class _Ranked:
    """Answers sorted from most to least confident, each with its tie group and its
    confidence bin (both then contiguous runs), and the sparse maps that sum a task's
    weight into them: every metric is a function of those few sums."""

    c: np.ndarray
    y: np.ndarray
    starts: np.ndarray
    """Where each tie group begins."""
    into_groups: Any
    """(task x tie group) answers; ``weights @ it`` is each group's weight."""
    right_into_groups: Any
    gaps_into_bins: Any
    """(task x bin) sums of outcome - confidence."""
    squared: np.ndarray
    """Per task, the sum of (confidence - outcome) squared."""

    @classmethod
    def of(cls, c: np.ndarray, y: np.ndarray, unit_of: np.ndarray, tasks: int) -> _Ranked:
        from scipy.sparse import csr_matrix

        order = np.argsort(-c, kind="stable")
        c, y, unit_of = c[order], y[order], unit_of[order]
        starts = np.r_[0, np.flatnonzero(np.diff(c)) + 1]
        group = np.cumsum(np.r_[0, np.diff(c) != 0])

        def summing(values, columns, width):
            return csr_matrix((values, (unit_of, columns)), shape=(tasks, width))

        groups = len(starts)
        return cls(
            c,
            y,
            starts,
            summing(np.ones(c.size), group, groups),
            summing(y.astype(float), group, groups),
            summing(y - c, _bin_of(c), _BINS),
            np.bincount(unit_of, weights=(c - y) ** 2, minlength=tasks),
        )


def _metrics(r: _Ranked, w: np.ndarray, coverage: float) -> dict[str, np.ndarray]:
    """Every metric for each row of task weights ``w``; NaN where a metric is undefined
    (no right or no wrong answer for AUROC, no weight at all)."""
    from scipy.special import digamma

    every = np.asarray((r.into_groups.T @ w.T).T)  # per tie group, most confident first
    right = np.asarray((r.right_into_groups.T @ w.T).T)
    wrong = every - right
    total = every.sum(axis=1)
    total_right, total_wrong = right.sum(axis=1), wrong.sum(axis=1)
    taken, right_taken = np.cumsum(every, axis=1), np.cumsum(right, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        safe_total = np.where(total > 0, total, np.nan)
        # AUROC: a right answer beats the wrong ones less confident than it, half the tied
        below = total_wrong[:, None] - np.cumsum(wrong, axis=1)
        pairs = total_right * total_wrong
        auroc = (right * (below + 0.5 * wrong)).sum(axis=1) / np.where(pairs > 0, pairs, np.nan)
        # AURC (Geifman et al.): sum over positions i of the risk of the first i answers,
        # each tie group's positions averaged over its orders: taking j of a group of s
        # (w wrong) after T answers (W wrong) has expected risk (W + j w / s) / (T + j),
        # whose sum over j = 1..s is w + (W - T w / s) (H(T + s) - H(T)).
        before = taken - every
        wrong_before = np.cumsum(wrong, axis=1) - wrong
        share_wrong = np.where(every > 0, wrong / np.where(every > 0, every, 1), 0.0)
        harmonic = digamma(before + every + 1) - digamma(before + 1)
        per_group = np.where(
            every > 0, wrong + (wrong_before - before * share_wrong) * harmonic, 0.0
        )
        aurc = per_group.sum(axis=1) / safe_total
        # selective accuracy: exactly coverage x n answers, the tie group the cut falls in
        # taken in part (its expected right answers: the part times its right share)
        cut = coverage * total
        first = np.argmax(taken >= cut[:, None] - 1e-9, axis=1)
        rows = np.arange(w.shape[0])
        part = cut - before[rows, first]
        group_share = right[rows, first] / np.where(every[rows, first] > 0, every[rows, first], 1)
        kept_right = right_taken[rows, first] - right[rows, first] + part * group_share
        selective = kept_right / np.where(cut > 0, cut, np.nan)
        # calibration: per-bin gaps, and squared errors
        gaps = np.asarray((r.gaps_into_bins.T @ w.T).T)
        ece = np.abs(gaps).sum(axis=1) / safe_total
        brier = (w @ r.squared) / safe_total
    return {
        "auroc": auroc,
        "aurc": aurc,
        "selective_accuracy": np.where(total > 0, selective, np.nan),
        "ece": ece,
        "brier": brier,
    }


def _bin_of(c: np.ndarray) -> np.ndarray:
    return np.minimum((c * _BINS).astype(int), _BINS - 1)


def reliability_bins(
    confidences: Sequence[float | None], correct: Sequence[bool]
) -> list[ReliabilityBin]:
    """Ten equal-width confidence bins: how many answers, their mean confidence and
    their accuracy (None for an empty bin)."""
    c, y = _arrays(confidences, correct)
    bins = _bin_of(c)
    made = []
    for b in range(_BINS):
        inside = bins == b
        count = int(inside.sum())
        made.append(
            ReliabilityBin(
                b / _BINS,
                (b + 1) / _BINS,
                count,
                float(c[inside].mean()) if count else None,
                float(y[inside].mean()) if count else None,
            )
        )
    return made


def risk_coverage(
    confidences: Sequence[float | None], correct: Sequence[bool]
) -> list[tuple[float, float]]:
    """The risk-coverage curve: (coverage, risk) at each tie group's end, most confident
    answers first."""
    c, y = _arrays(confidences, correct)
    if c.size == 0:
        return []
    ranked = _Ranked.of(c, y, np.arange(c.size), c.size)
    ends = np.r_[ranked.starts[1:], c.size] - 1  # the last answer of each tie group
    wrong = np.cumsum(~ranked.y)
    return [(float((e + 1) / c.size), float(wrong[e] / (e + 1))) for e in ends]


def confidence_metrics(
    confidences: Sequence[float | None],
    correct: Sequence[bool],
    *,
    units: Sequence[int] | None = None,
    resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    coverage: float = COVERAGE,
) -> ConfidenceMetrics:
    """Every metric of one source, with percentile bootstrap 95% intervals (all metrics
    on the same resamples). The bootstrap resamples ``units`` (each answer's task, when
    a task has several answers: a loop's critiques), else the answers themselves."""
    kept = np.array([v is not None for v in confidences], dtype=bool)
    unit_of = (np.arange(len(confidences)) if units is None else np.asarray(units, dtype=np.intp))[
        kept
    ]
    _, unit_of = np.unique(unit_of, return_inverse=True)
    c, y = _arrays(confidences, correct)
    n = int(c.size)
    tasks = int(unit_of.max()) + 1 if n else 0
    names = ("auroc", "aurc", "selective_accuracy", "ece", "brier")
    estimates: dict[str, Estimate] = {name: Estimate(None, None, None, tasks) for name in names}
    if n:
        ranked = _Ranked.of(c, y, unit_of, tasks)
        values = _metrics(ranked, np.ones((1, tasks)), coverage)
        draws: dict[str, list[np.ndarray]] = {name: [] for name in names}
        for counts in resample_counts(tasks, resamples, seed):
            # an answer is drawn as often as its task
            for name, drawn in _metrics(ranked, counts, coverage).items():
                draws[name].append(drawn)
        for name in names:
            value = float(values[name][0])
            if not np.isnan(value):
                estimates[name] = percentile_interval(value, np.concatenate(draws[name]), tasks)
        # a share of answers: where every resample agrees (all right, all wrong), the
        # bootstrap is a point; Clopper-Pearson on the tasks the cut keeps instead
        kept_tasks = max(1, round(coverage * tasks))
        selective = estimates["selective_accuracy"]
        if selective.value is not None and selective.low == selective.high:
            low, high = proportion_interval(round(selective.value * kept_tasks), kept_tasks)
            estimates["selective_accuracy"] = Estimate(
                selective.value, low, high, tasks, CLOPPER_PEARSON
            )
    return ConfidenceMetrics(
        n=n,
        right=int(y.sum()),
        bins=reliability_bins(c.tolist(), y.tolist()),
        curve=_thinned(risk_coverage(c.tolist(), y.tolist())),
        **estimates,
    )


def _thinned(curve: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most ``CURVE_POINTS`` points, evenly spaced, the last kept: a report's plot of
    100,000 answers stays small."""
    if len(curve) <= CURVE_POINTS:
        return curve
    keep = np.unique(np.linspace(0, len(curve) - 1, CURVE_POINTS).round().astype(int))
    return [curve[i] for i in keep]
