"""Short-answer grading as SQuAD defines it (Rajpurkar et al. 2016, the official v1.1
evaluation script): answers normalised (lower case, punctuation and the articles
a/an/the removed, whitespace collapsed), then exact match and token F1, each the
best over the reference and its aliases. TriviaQA's and HotpotQA's evaluations use
the same normalisation and measures.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

__all__ = ["best_exact_match", "best_f1", "exact_match", "normalize_answer", "token_f1"]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces.

    >>> normalize_answer("The  Eiffel Tower!")
    'eiffel tower'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, truth: str) -> bool:
    """Whether the normalised prediction equals the normalised truth."""
    return normalize_answer(prediction) == normalize_answer(truth)


def token_f1(prediction: str, truth: str) -> float:
    """SQuAD's token F1 of the normalised answers (bags of words)."""
    predicted, true = normalize_answer(prediction).split(), normalize_answer(truth).split()
    common = Counter(predicted) & Counter(true)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(true)
    return 2 * precision * recall / (precision + recall)


def best_exact_match(prediction: str, truths: Sequence[str]) -> bool:
    """Exact match against any of the accepted answers."""
    return any(exact_match(prediction, t) for t in truths)


def best_f1(prediction: str, truths: Sequence[str]) -> float:
    """The best token F1 over the accepted answers."""
    return max((token_f1(prediction, t) for t in truths), default=0.0)
