"""Learned verifiers: a probe trained on runs' graded answers, cross-fitted by task.

``training_examples(RUN_DIRS, features)`` reads every graded attempt of the
runs and computes its features (``looplab.agents.VERIFIER_FEATURES``);
``fit_verifier(examples)`` fits the probe (scikit-learn's logistic regression,
regularisation chosen by grouped cross-validation) once per fold and once on
everything, and returns the ``Verifier`` with its cross-fitted (held-out)
AUROC. ``looplab verifier train`` is the two in a command; a run uses the
result with ``--critic-confidence learned:FILE``.

Names are imported on first use (PEP 562): scikit-learn loads only to train.
"""

from looplab._lazy import lazy_exports

_EXPORTS = {
    "Examples": "_examples",
    "training_examples": "_examples",
    "C_GRID": "_fit",
    "FOLDS": "_fit",
    "Fitted": "_fit",
    "fit_verifier": "_fit",
    "fold_of_task": "_fit",
}
"""Public name -> the module that defines it."""

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
