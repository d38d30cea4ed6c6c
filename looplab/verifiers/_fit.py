"""Fitting a verifier: logistic regression per fold and on everything, cross-fitted by task.

The probe is scikit-learn's ``StandardScaler`` then ``LogisticRegressionCV``
(L2, lbfgs): the inverse regularisation strength C is chosen from
``C_GRID`` by the log-loss of grouped cross-validation (``GroupKFold`` over
tasks, so the choice is never scored on a task it was fit on).

Cross-fitting: a task's fold is a function of its key alone (``fold_of_task``:
its prompt's hash modulo the folds), never of its labels or of the other
tasks, so a task's held-out score does not move when its own grades change
(``tests/test_verifier.py`` checks exactly that). Each fold's probe is fit on
the other folds' tasks and scores its own; the held-out AUROC, with a
bootstrap interval over tasks, is computed from those scores alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from looplab.agents import HeldOut, LinearProbe, Verifier
from looplab.errors import ConfigError
from looplab.metrics import confidence_metrics
from looplab.verifiers._examples import Examples

__all__ = ["C_GRID", "FOLDS", "Fitted", "fit_verifier", "fold_of_task"]

FOLDS = 5
"""Cross-fitting folds (and the most folds of the inner search for C)."""
C_GRID = tuple(float(c) for c in np.logspace(-4, 2, 13))
"""The inverse regularisation strengths cross-validation chooses among."""


def fold_of_task(key: str, folds: int) -> int:
    """The fold a task is held out in: its key (a SHA-256 hex) modulo ``folds``."""
    return int(key[:16], 16) % folds


@dataclass
class Fitted:
    """A fitted verifier and every training answer's cross-fitted (held-out) score."""

    verifier: Verifier
    heldout: np.ndarray
    """Each example's P(right) from the fold's probe that never saw its task."""


def _both(labels: np.ndarray) -> bool:
    return bool(labels.any() and not labels.all())


def _probe(rows: np.ndarray, right: np.ndarray, groups: np.ndarray) -> tuple[LinearProbe, object]:
    """Standardise, choose C by grouped cross-validation, fit: the probe as plain numbers
    and the scikit-learn pipeline it came from."""
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    inner = min(FOLDS, len(np.unique(groups)))
    splits = []
    if inner >= 2:
        splits = [
            (train, test)
            for train, test in GroupKFold(n_splits=inner).split(rows, right, groups)
            if _both(right[train]) and _both(right[test])
        ]
    if splits:
        classifier = LogisticRegressionCV(
            Cs=list(C_GRID),
            cv=splits,
            scoring="neg_log_loss",
            l1_ratios=(0.0,),
            max_iter=10_000,
            use_legacy_attributes=False,
        )
    else:  # too few tasks of each kind to cross-validate: sklearn's default strength
        classifier = LogisticRegression(C=1.0, max_iter=10_000)
    pipeline = make_pipeline(StandardScaler(), classifier)
    pipeline.fit(rows, right)
    scaler = pipeline[0]
    chosen = float(np.ravel(classifier.C_)[0]) if splits else classifier.C
    probe = LinearProbe(
        mean=[float(v) for v in scaler.mean_],
        scale=[float(v) for v in scaler.scale_],
        coef=[float(v) for v in classifier.coef_[0]],
        intercept=float(classifier.intercept_[0]),
        C=chosen,
    )
    return probe, pipeline


def fit_verifier(examples: Examples, *, folds: int = FOLDS) -> Fitted:
    """Fit the verifier on ``examples``, cross-fitted over ``folds`` folds of tasks."""
    keys = sorted(set(examples.tasks))
    right = examples.right
    if len(keys) < folds:
        raise ConfigError(
            f"cross-fitting over {folds} folds needs {folds} tasks at least, not {len(keys)}"
        )
    if int(right.sum()) < 2 or int((~right).sum()) < 2:
        raise ConfigError(
            f"a verifier needs right and wrong answers to learn from: these runs hold "
            f"{int(right.sum())} right and {int((~right).sum())} wrong"
        )
    index = {key: i for i, key in enumerate(keys)}
    groups = np.asarray([index[k] for k in examples.tasks], dtype=int)
    fold = np.asarray([fold_of_task(k, folds) for k in examples.tasks])
    heldout = np.full(len(right), np.nan)
    probes = []
    for f in range(folds):
        train, test = fold != f, fold == f
        if not _both(right[train]):
            raise ConfigError(
                f"fold {f}'s training tasks hold only {'right' if right[train].all() else 'wrong'} "
                "answers: train on more tasks"
            )
        probe, pipeline = _probe(examples.rows[train], right[train], groups[train])
        probes.append(probe)
        if test.any():
            heldout[test] = pipeline.predict_proba(examples.rows[test])[:, 1]
    full, _ = _probe(examples.rows, right, groups)
    metrics = confidence_metrics(heldout.tolist(), right.tolist(), units=groups.tolist())
    answered = examples.answered
    among = None
    if answered is not None and answered.any():
        among = confidence_metrics(
            heldout[answered].tolist(), right[answered].tolist(), units=groups[answered].tolist()
        ).auroc
    verifier = Verifier(
        features=list(examples.features),
        columns=list(examples.columns),
        model=examples.model,
        probe=full,
        folds=probes,
        fold_of={k: fold_of_task(k, folds) for k in keys},
        training=examples.runs,
        heldout=HeldOut(
            auroc=metrics.auroc.value,
            low=metrics.auroc.low,
            high=metrics.auroc.high,
            attempts=len(right),
            right=int(right.sum()),
            tasks=len(keys),
            folds=folds,
            answered=None if answered is None else int(answered.sum()),
            answered_auroc=None if among is None else among.value,
            answered_low=None if among is None else among.low,
            answered_high=None if among is None else among.high,
        ),
    )
    return Fitted(verifier, heldout)
