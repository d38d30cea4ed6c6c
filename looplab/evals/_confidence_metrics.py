"""How well a confidence separates right answers from wrong ones, with bootstrap CIs.

For one confidence source over n answers (confidence c_i in [0, 1], outcome
y_i right or wrong), the report's metrics:

- **AUROC**: the probability that a random right answer has higher confidence
  than a random wrong one (ties count a half); 0.5 is no information.
- **Risk-coverage**: answer only the most confident share (the coverage) of the
  questions; the risk is the error rate among them. ``aurc`` is the area under
  that curve (lower is better), ``selective accuracy`` the accuracy at a given
  coverage. Tied confidences are taken or left together.
- **Reliability**: confidence against accuracy in ten equal-width bins; **ECE**
  the answer-weighted mean gap between them, **Brier** the mean squared error.

Every metric is written once, for a matrix of weights (resample x answer: how
often the bootstrap drew each answer's task), so the point estimate (weights
all one) and every resample are the same computation. One answer per task,
so resampling answers is resampling tasks. Answers whose source gave no
confidence are left out of that source's metrics (``n`` says how many
remain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from looplab.evals._stats import BOOTSTRAP_SEED, RESAMPLES, Estimate, _interval, resample_counts

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


@dataclass(frozen=True)
class ReliabilityBin:
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


def _arrays(confidences: Sequence[float | None], correct: Sequence[bool]):
    c = np.array([np.nan if v is None else v for v in confidences], dtype=float)
    y = np.asarray(correct, dtype=bool)
    kept = ~np.isnan(c)
    return c[kept], y[kept]


def _auroc(c: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted Mann-Whitney AUROC for each row of weights ``w`` (NaN without both)."""
    pos, neg = c[y], c[~y]
    wins = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    w_pos, w_neg = w[:, y], w[:, ~y]
    pairs = w_pos.sum(axis=1) * w_neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("rp,pn,rn->r", w_pos, wins, w_neg) / np.where(pairs > 0, pairs, np.nan)


def _ranked(c: np.ndarray, y: np.ndarray, w: np.ndarray):
    """Answers from most to least confident: weights, outcomes, and for each position
    the last position of its tie group (ties are taken together)."""
    order = np.argsort(-c, kind="stable")
    c, y, w = c[order], y[order], w[:, order]
    group_end = np.searchsorted(-c, -c, side="right") - 1
    return w, y, group_end


def _aurc(c: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Area under the risk-coverage curve: each answer's weight times the risk of the
    most confident answers down to its tie group, over the total weight."""
    w, y, group_end = _ranked(c, y, w)
    taken = np.cumsum(w, axis=1)[:, group_end]
    wrong = np.cumsum(w * ~y, axis=1)[:, group_end]
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        risk = np.where(taken > 0, wrong / np.where(taken > 0, taken, 1), 0.0)
        return (w * risk).sum(axis=1) / np.where(total > 0, total, np.nan)


def _selective_accuracy(c: np.ndarray, y: np.ndarray, w: np.ndarray, coverage: float) -> np.ndarray:
    """Accuracy of the most confident answers: taken down to the first tie group that
    brings their weight to ``coverage`` of the total."""
    w, y, group_end = _ranked(c, y, w)
    taken = np.cumsum(w, axis=1)[:, group_end]
    right = np.cumsum(w * y, axis=1)[:, group_end]
    total = w.sum(axis=1, keepdims=True)
    reached = taken >= coverage * total - 1e-9
    first = np.argmax(reached, axis=1)
    rows = np.arange(w.shape[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        values = right[rows, first] / taken[rows, first]
    return np.where(total[:, 0] > 0, values, np.nan)


def _bin_of(c: np.ndarray) -> np.ndarray:
    return np.minimum((c * _BINS).astype(int), _BINS - 1)


def _ece(c: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    one_hot = np.eye(_BINS)[_bin_of(c)]  # answer x bin
    gaps = (w * (y - c)) @ one_hot
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(gaps).sum(axis=1) / np.where(total > 0, total, np.nan)


def _brier(c: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * (c - y) ** 2).sum(axis=1) / np.where(total > 0, total, np.nan)


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
    w, y, group_end = _ranked(c, y, np.ones((1, c.size)))
    ends = sorted(set(group_end.tolist()))
    taken = np.cumsum(w[0])
    wrong = np.cumsum(w[0] * ~y)
    return [(float(taken[e] / c.size), float(wrong[e] / taken[e])) for e in ends]


def confidence_metrics(
    confidences: Sequence[float | None],
    correct: Sequence[bool],
    *,
    resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    coverage: float = COVERAGE,
) -> ConfidenceMetrics:
    """Every metric of one source, with percentile bootstrap 95% intervals over answers
    (all metrics on the same resamples)."""
    c, y = _arrays(confidences, correct)
    n = int(c.size)
    metrics = {
        "auroc": _auroc,
        "aurc": _aurc,
        "selective_accuracy": lambda c, y, w: _selective_accuracy(c, y, w, coverage),
        "ece": _ece,
        "brier": _brier,
    }
    estimates: dict[str, Estimate] = {}
    if n == 0:
        estimates = {name: Estimate(None, None, None, 0) for name in metrics}
    else:
        ones = np.ones((1, n))
        draws = {name: [] for name in metrics}
        for counts in resample_counts(n, resamples, seed):
            for name, metric in metrics.items():
                draws[name].append(metric(c, y, counts))
        for name, metric in metrics.items():
            value = float(metric(c, y, ones)[0])
            if np.isnan(value):
                estimates[name] = Estimate(None, None, None, n)
            else:
                estimates[name] = _interval(value, np.concatenate(draws[name]), n)
    return ConfidenceMetrics(
        n=n, right=int(y.sum()), bins=reliability_bins(c.tolist(), y.tolist()), **estimates
    )
