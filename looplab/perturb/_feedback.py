"""Feedback ablations: what the generator is told between attempts, changed on purpose.

The settings the self-correction literature compares (selected with
``--feedback``, recorded in the manifest and on every critique they touch):

- ``critic``: the critic's own verdict and feedback (the default, unperturbed).
- ``none``: the critic still judges (so the loop stops the same way), but the
  generator is only told to try again -- no content (Huang et al. 2023's
  "no feedback" baseline).
- ``oracle[:NOISE]``: the verdict comes from ground truth, flipped with
  probability NOISE; the critic model is not asked. Ground truth reaches the
  loop, so every such trajectory is marked ``oracle`` (an upper bound).
- ``biased``: the critic is told "I think the answer is X" with X a plausible
  wrong answer (sycophancy). X is derived from the reference answer so that
  it is surely wrong; only X reaches the loop, recorded as ``biased:X``.

Feedback from a *different model* needs no perturbation: give ``--critic-model``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from looplab.errors import ConfigError

__all__ = ["FEEDBACK_FORMS", "NO_FEEDBACK", "FeedbackSpec", "oracle_flip", "plausible_wrong_answer"]

NO_FEEDBACK = "Try again."
"""What the generator is shown under the ``none`` ablation."""

FeedbackKind = Literal["critic", "none", "oracle", "biased"]
FEEDBACK_FORMS: dict[str, str] = {
    "critic": "critic",
    "none": "none",
    "oracle": "oracle[:NOISE]",
    "biased": "biased",
}
"""Every feedback kind and how it is written (``--feedback``'s help and errors)."""


@dataclass(frozen=True)
class FeedbackSpec:
    """Where the feedback between attempts comes from."""

    kind: FeedbackKind = "critic"
    noise: float = 0.0
    """For ``oracle``: the probability that a verdict is flipped."""

    @classmethod
    def parse(cls, text: str) -> FeedbackSpec:
        """``critic``, ``none``, ``oracle``, ``oracle:0.2`` or ``biased``."""
        kind, _, rest = text.strip().partition(":")
        if kind not in FEEDBACK_FORMS:
            raise ConfigError(
                f"unknown feedback {text!r}: use one of {', '.join(FEEDBACK_FORMS.values())}"
            )
        if rest and kind != "oracle":
            raise ConfigError(f"feedback {text!r}: only oracle takes a value (the noise rate)")
        try:
            noise = float(rest) if rest else 0.0
        except ValueError:
            raise ConfigError(f"feedback {text!r}: the noise must be a number") from None
        if not 0.0 <= noise <= 1.0:
            raise ConfigError(f"feedback {text!r}: the noise must be between 0 and 1")
        return cls(kind, noise)  # type: ignore[arg-type]

    @property
    def uses_truth(self) -> bool:
        """Whether this feedback reads ground truth (oracle, biased): the run is marked."""
        return self.kind in ("oracle", "biased")

    def __str__(self) -> str:
        return f"oracle:{self.noise:g}" if self.kind == "oracle" and self.noise else self.kind


def oracle_flip(noise: float, seed: int | str, iteration: int) -> bool:
    """Whether the oracle's verdict on ``iteration`` is flipped: seeded, independent per call."""
    return noise > 0 and random.Random(f"oracle-noise:{seed}:{iteration}").random() < noise


def plausible_wrong_answer(answer: str | None, seed: int | str) -> str | None:
    """A number near the reference answer but surely not equal to it (None if not numeric).

    >>> plausible_wrong_answer("120", 0) != "120"
    True
    """
    if answer is None:
        return None
    try:
        value = Decimal(answer.replace(",", "").strip())
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    rng = random.Random(f"wrong-answer:{seed}:{answer}")
    # an offset of the size a slip makes: 1-3 units of the answer's second digit
    scale = max(Decimal(1), Decimal(10) ** max(len(str(abs(int(value)))) - 2, 0))
    offset = rng.choice([-3, -2, -1, 1, 2, 3]) * scale
    wrong = value + offset
    text = format(wrong.normalize(), "f") if wrong != wrong.to_integral() else str(int(wrong))
    return text
