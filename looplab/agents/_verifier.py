"""A learned verifier: a linear probe on an answer's features, scoring P(right).

Cobbe et al. (2021) rank sampled solutions with a verifier trained on the
generator's own graded solutions; Azaria & Mitchell (2023) read correctness
off a model's hidden state with a linear probe. ``Verifier`` is that probe
as a record: which features it reads (``VERIFIER_FEATURES``), how each
column is standardised, its logistic-regression weights, and -- because it
was cross-fitted by task (``looplab verifier train``) -- one probe per fold
and which fold each training task was held out of. A task the verifier was
trained on is scored by the fold's probe that never saw it; any other task by
the probe fit on all of them. So no answer is ever scored by a probe that
was fit on its own task's answers, inside a study or in a later run.

Scoring needs no scikit-learn: standardise, dot product, logistic.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from looplab.agents._confidence import agreement
from looplab.answers import vote_key
from looplab.errors import ConfigError
from looplab.llm import ChatModel, HiddenStateModel, Message
from looplab.records import Usage
from looplab.steps import Body, blocking

__all__ = [
    "DEFAULT_FEATURES",
    "VERIFIER_FEATURES",
    "Candidate",
    "FeatureRow",
    "HeldOut",
    "LinearProbe",
    "TrainingRun",
    "Verifier",
    "candidate_features",
    "check_features",
    "load_verifier",
    "task_key",
]

VERIFIER_FEATURES: dict[str, str] = {
    "hidden": "the model's hidden state at the answer's last token, reading the task and "
    "the answer as a chat (embedded model only; one forward pass over them)",
    "answer_logprob": "the generator's own probability of its answer's tokens (the run "
    "must ask for log-probabilities; a missing value has its own column)",
    "length": "the answer's length, log(1 + characters)",
    "agreement": "the share of the task's other sampled answers equal to this one "
    "(best_of_n's other candidates, or answers the critic samples)",
}
"""The features a verifier can read: the one registry (help, errors, the file's list)."""

DEFAULT_FEATURES = ("hidden", "answer_logprob", "length", "agreement")
"""What ``looplab verifier train`` reads unless told otherwise: every feature."""


def task_key(prompt: str) -> str:
    """The key a verifier knows a task by: its prompt's SHA-256 (the same problem under
    two ids is one task for cross-fitting)."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def check_features(features: Sequence[str]) -> tuple[str, ...]:
    """``features`` in the registry's order, or a one-line error naming the choices."""
    unknown = [f for f in features if f not in VERIFIER_FEATURES]
    if unknown or not features:
        named = repr(unknown[0]) if unknown else "none"
        raise ConfigError(
            f"unknown verifier feature {named}: use one of {', '.join(VERIFIER_FEATURES)}"
        )
    return tuple(f for f in VERIFIER_FEATURES if f in features)


@dataclass(frozen=True)
class Candidate:
    """An answer to score: the task's prompt, the answer's text and what the run knew
    about it besides (its tokens' probability, the other samples' answers)."""

    prompt: str
    text: str
    answer: str | None
    answer_probability: float | None = None
    others: tuple[str | None, ...] | None = None
    """The other sampled answers of the same task (None: there were none)."""


@dataclass(frozen=True)
class FeatureRow:
    """One answer's feature columns (named by ``columns``), and what computing them cost."""

    columns: tuple[str, ...]
    values: tuple[float, ...]
    usage: Usage


def _agreement(candidate: Candidate) -> float | None:
    return agreement(candidate.answer, candidate.others or (), _same_vote)


def _same_vote(a: str, b: str) -> bool:
    return vote_key(a) == vote_key(b)


def _with_missing(name: str, value: float | None) -> list[tuple[str, float]]:
    """A value that may be missing: the value (0 when missing) and a 0/1 column saying so,
    so the probe learns what a missing value means instead of being told a guess."""
    return [(name, 0.0 if value is None else value), (f"{name} missing", float(value is None))]


def candidate_features(
    candidate: Candidate, features: Sequence[str], model: ChatModel | None
) -> Body[FeatureRow]:
    """The feature columns of one answer (a body of steps: the hidden state is the one
    that waits on the model)."""
    columns: list[tuple[str, float]] = []
    usage = Usage()
    for feature in check_features(features):
        if feature == "hidden":
            if model is None or not isinstance(model, HiddenStateModel):
                name = "no model" if model is None else model.name
                raise ConfigError(
                    f"the hidden-state feature needs a model that exposes them (the embedded "
                    f"llama.cpp model); {name} does not"
                )
            messages = [
                Message(role="user", content=candidate.prompt),
                Message(role="assistant", content=candidate.text),
            ]
            vector, cost = yield blocking(model.hidden_state, messages)
            usage += cost
            columns += [(f"hidden[{i}]", v) for i, v in enumerate(vector)]
        elif feature == "answer_logprob":
            columns += _with_missing("answer_logprob", candidate.answer_probability)
        elif feature == "length":
            columns.append(("length", math.log1p(len(candidate.text))))
        else:
            columns += _with_missing("agreement", _agreement(candidate))
    names, values = zip(*columns, strict=True)
    return FeatureRow(tuple(names), tuple(values), usage)


class LinearProbe(BaseModel):
    """Standardise each column, then logistic regression: P(right) of a feature row."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    C: float
    """The inverse regularisation strength cross-validation chose."""

    def probability(self, values: Sequence[float]) -> float:
        """P(right) of one row of feature values (in the verifier's column order)."""
        z = self.intercept + math.fsum(
            w * (v - m) / s
            for w, v, m, s in zip(self.coef, values, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


class TrainingRun(BaseModel):
    """A run a verifier was trained on: where, what it ran, how many answers it gave."""

    path: str
    graph: str
    model: str
    tasks: int
    attempts: int
    right: int


class HeldOut(BaseModel):
    """The cross-fitted scores' AUROC: every training answer scored by the fold's probe
    that never saw its task, a percentile bootstrap over tasks for the interval."""

    auroc: float | None
    low: float | None
    high: float | None
    attempts: int
    right: int
    tasks: int
    folds: int
    answered: int | None = None
    """How many of the answers had an answer extracted; the AUROC among those alone is
    ``answered_auroc``: an answer from no answer at all is easy to tell (every unanswered
    attempt is wrong), so this is the figure to set beside sources that need one."""
    answered_auroc: float | None = None
    answered_low: float | None = None
    answered_high: float | None = None


class Verifier(BaseModel):
    """A trained verifier, as ``looplab verifier train`` writes it (JSON)."""

    version: int = 1
    features: list[str]
    columns: list[str]
    model: str
    """Whose hidden states the probe reads ("" without the hidden feature): another
    model's states mean nothing to it, so scoring with one is refused."""
    probe: LinearProbe
    """Fit on every training task: scores tasks it was not trained on."""
    folds: list[LinearProbe]
    fold_of: dict[str, int] = Field(default_factory=dict)
    """A training task's key (``task_key``) -> the fold whose probe never saw it."""
    training: list[TrainingRun]
    heldout: HeldOut

    def probe_for(self, prompt: str) -> tuple[LinearProbe, str]:
        """The probe that may score ``prompt``'s answers, and which it is: the fold's that
        held the task out if the verifier was trained on it, else the full probe."""
        fold = self.fold_of.get(task_key(prompt))
        if fold is None:
            return self.probe, "the probe fit on all training tasks (this task was not one)"
        return self.folds[fold], f"fold {fold}'s probe (trained without this task)"

    def check_model(self, model: ChatModel | None) -> None:
        """Refuse a model whose hidden states the probe was not trained on."""
        if "hidden" in self.features and (model is None or model.name != self.model):
            name = "no model" if model is None else model.name
            raise ConfigError(
                f"this verifier reads {self.model}'s hidden states; the model here is {name}"
            )

    def score(
        self, candidate: Candidate, model: ChatModel | None
    ) -> Body[tuple[float, str, Usage]]:
        """P(right) of ``candidate``, which probe gave it, and the features' cost."""
        self.check_model(model)
        row = yield from candidate_features(candidate, self.features, model)
        if list(row.columns) != self.columns:
            raise ConfigError("the verifier's columns do not match its features (a damaged file)")
        probe, which = self.probe_for(candidate.prompt)
        return probe.probability(row.values), which, row.usage


def load_verifier(path: str | Path) -> Verifier:
    """Read a verifier file; anything unreadable is one line naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read verifier {path}: {exc.strerror or exc}") from None
    try:
        verifier = Verifier.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        raise ConfigError(f"{path} is not a looplab verifier ({where}: {first['msg']})") from None
    sizes = (
        {len(verifier.columns)}
        | {len(p.coef) for p in (verifier.probe, *verifier.folds)}
        | {len(p.mean) for p in (verifier.probe, *verifier.folds)}
    )
    if len(sizes) != 1 or any(f >= len(verifier.folds) or f < 0 for f in verifier.fold_of.values()):
        raise ConfigError(f"{path} is not a looplab verifier (its sizes disagree)")
    for probe in (verifier.probe, *verifier.folds):
        numbers = [*probe.mean, *probe.scale, *probe.coef, probe.intercept, probe.C]
        if not all(math.isfinite(v) for v in numbers) or not all(v > 0 for v in probe.scale):
            raise ConfigError(f"{path} is not a looplab verifier (a weight is not a finite number)")
    check_features(verifier.features)
    return verifier
