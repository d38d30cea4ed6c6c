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

__all__ = ["CODE_FAMILIES", "answer_format", "extract_answer", "is_code_family"]

CODE_FAMILIES = frozenset({"humaneval", "code"})

_ANSWER_LINE = re.compile(
    r"\banswer\b\**\s*(?:is\b\s*:?|[:=])\s*\**\s*([^\n]+?)\s*$", re.IGNORECASE | re.MULTILINE
)
_GSM8K_LINE = re.compile(r"^\s*####\s*([^\n]+?)\s*$", re.MULTILINE)
_FENCE = re.compile(r"```(?:python|py)?[^\n]*\n(.*?)```", re.DOTALL)
_CODE_START = re.compile(r"^(def |import |from |class |@)", re.MULTILINE)
_TOOL_SPANS = re.compile(r"<(result|error)>.*?</\1>", re.DOTALL)


def is_code_family(family: str) -> bool:
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
