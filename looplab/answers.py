"""Extracting the final answer from a model's text, by a documented convention per family.

- Numeric and exact-answer families: the *last* statement of the form
  ``Answer: X``, ``the answer is X`` or GSM8K's ``#### X`` (case-insensitive,
  to the end of its line; a trailing period dropped). No such statement, no answer: a missing
  answer is graded wrong, never guessed from stray numbers.
- Code families (``humaneval``, ``code``): the last fenced Python block;
  failing that, the text from the first ``def``/``import``/``from`` line on.

Tool calls and their results are removed before extraction, so a number in
a ``<result>`` is not taken for the model's answer.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from looplab.records import Attempt, Vote

__all__ = [
    "CODE_FAMILIES",
    "answer_format",
    "extract_answer",
    "is_code_family",
    "majority_vote",
    "vote_key",
]

CODE_FAMILIES = frozenset({"humaneval", "code"})
"""Task families whose answer is a program (graded by hidden tests in the sandbox)."""

_ANSWER_LINE = re.compile(
    r"\banswer\b\**\s*(?:is\b\s*:?|[:=])\s*\**\s*([^\n]+?)\s*$", re.IGNORECASE | re.MULTILINE
)
_GSM8K_LINE = re.compile(r"^\s*####\s*([^\n]+?)\s*$", re.MULTILINE)
_FENCE = re.compile(r"```(?:python|py)?[^\n]*\n(.*?)```", re.DOTALL)
_CODE_START = re.compile(r"^(def |import |from |class |@)", re.MULTILINE)
_TOOL_SPANS = re.compile(r"<(result|error)>.*?</\1>", re.DOTALL)


def is_code_family(family: str) -> bool:
    """Whether answers of ``family`` are programs rather than values."""
    return family in CODE_FAMILIES


def answer_format(family: str) -> str:
    """The instruction that tells a model how to give its final answer."""
    if is_code_family(family):
        return "Reply with the complete Python function in one ```python code block."
    return "End with a last line of the form `Answer: <your final answer>`."


def extract_answer(text: str, family: str) -> str | None:
    """The final answer in ``text`` by the family's convention, or None.

    >>> extract_answer("17*23 is 391.\\nAnswer: 391.", "arithmetic")
    '391'
    >>> extract_answer("no conclusion", "arithmetic") is None
    True
    >>> extract_answer("48/2 = <<48/2=24>>24\\n#### 72", "gsm8k")
    '72'
    """
    text = _TOOL_SPANS.sub("", text)
    if is_code_family(family):
        blocks = _FENCE.findall(text)
        if blocks:
            return blocks[-1].strip("\n") or None
        start = _CODE_START.search(text)
        return text[start.start() :].strip() if start else None
    matches = [*_ANSWER_LINE.finditer(text), *_GSM8K_LINE.finditer(text)]
    if not matches:
        return None
    last = max(matches, key=lambda m: m.start())
    answer = last.group(1).strip().strip("`*").strip()
    return answer[:-1].strip() if answer.endswith(".") else answer or None


def vote_key(answer: str | None) -> str | None:
    """An answer normalised for voting: numbers by value, text by case and spacing.

    >>> [vote_key(a) for a in ("1,200", "1200.0", " Paris. ", None)]
    ['1200', '1200', 'paris', None]
    """
    if answer is None:
        return None
    text = " ".join(answer.strip().rstrip(".").split())
    if not text:
        return None
    try:
        number = Decimal(text.replace(",", "").lstrip("$"))
    except InvalidOperation:
        return text.lower()
    if not number.is_finite():
        return text.lower()
    normal = number.normalize()
    return f"{normal:f}" if normal == normal.to_integral() else str(normal)


def majority_vote(attempts: list[Attempt], voters: list[int]) -> tuple[Vote, int]:
    """The vote among ``attempts[i] for i in voters`` and the index of the chosen attempt.

    Ties go to the tied answer given first (rule ``earliest``); attempts without an
    answer abstain; with no answer at all the first voter's attempt is chosen.
    """
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for i in voters:
        key = vote_key(attempts[i].answer)
        if key is None:
            continue
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, i)
    if not counts:
        return Vote(counts={}, winner=None, voters=voters), voters[0]
    most = max(counts.values())
    tied = [key for key, n in counts.items() if n == most]
    winner = min(tied, key=first.__getitem__)
    return Vote(counts=counts, winner=winner, tie=len(tied) > 1, voters=voters), first[winner]
