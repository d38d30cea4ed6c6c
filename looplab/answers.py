"""Extracting the final answer from a model's text, by a documented convention per family.

- Numeric and exact-answer families: the *last* statement of the form
  ``Answer: X``, ``the answer is X`` or GSM8K's ``#### X`` (case-insensitive,
  to the end of its line; a trailing period dropped). No such statement, no answer: a missing
  answer is graded wrong, never guessed from stray numbers.
- ``math`` (LaTeX answers): the last ``\\boxed{...}`` (nested braces), else the
  answer line; a boxed answer inside the answer line is unwrapped.
- ``choice`` (multiple choice): the answer line's letter, read from the usual
  forms (``B``, ``(B)``, ``B)``, ``B.``, ``**B**``, ``option B``, ``B: text``,
  ``\\boxed{B}``); an answer line that is not a letter is kept as text and
  the grader matches it against the choices.
- Code families (``humaneval``, ``code``, ``mbpp``): the last fenced Python block;
  failing that, the text from the first ``def``/``import``/``from`` line on.

Every family is one ``AnswerKind`` in ``ANSWER_KINDS``: how the model is told to
answer, how the answer is read, and which grader judges it. ``looplab tasks list``
and the unknown-family error are made from it.

Tool calls and their results are removed before extraction, so a number in
a ``<result>`` is not taken for the model's answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from looplab.records import Attempt, Vote

__all__ = [
    "ANSWER_KINDS",
    "AnswerKind",
    "CODE_FAMILIES",
    "answer_kind",
    "boxed_contents",
    "choice_letter",
    "answer_format",
    "extract_answer",
    "grader_blocks",
    "is_code_family",
    "majority_vote",
    "vote_key",
]

_ANSWER_LINE = re.compile(
    r"\banswer\b\**\s*(?:is\b\s*:?|[:=])\s*\**\s*([^\n]+?)\s*$", re.IGNORECASE | re.MULTILINE
)
_GSM8K_LINE = re.compile(r"^\s*####\s*([^\n]+?)\s*$", re.MULTILINE)
_FENCE = re.compile(r"```(?:python|py)?[^\n]*\n(.*?)```", re.DOTALL)
_CODE_START = re.compile(r"^(def |import |from |class |@)", re.MULTILINE)
_TOOL_SPANS = re.compile(r"<(result|error)>.*?</\1>", re.DOTALL)
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
# A choice letter alone, bracketed, bolded or followed by its text: "(B)", "B)", "**B.**",
# "option B", "B: Paris", "\boxed{B}"; letters A-Z.
_LETTER = re.compile(
    r"^(?:\\boxed\{|\\text\{)?\s*(?:(?:option|choice)\s+)?[\(\[]?\s*([A-Z])\s*[\)\]]?"
    r"\s*\}?\s*(?:$|[.:)\-]\s*|\s+(?=\S))",
    re.IGNORECASE,
)


def boxed_contents(text: str) -> str | None:
    """What the last ``\\boxed{...}`` (or ``\\fbox{...}``) of ``text`` holds, nested braces
    and all; None when there is none or its braces never close.

    >>> boxed_contents(r"so $x = \\boxed{\\frac{1}{2}}$, and \\boxed{3} is wrong? no: \\boxed{4}")
    '4'
    >>> boxed_contents(r"\\boxed{\\frac{\\sqrt{3}}{2}}")
    '\\\\frac{\\\\sqrt{3}}{2}'
    """
    starts = [m.end() for m in _BOX.finditer(text)]
    if not starts:
        return None
    # one pass pairs every brace (a model may write thousands of unclosed boxes)
    closing: dict[int, int] = {}
    opened: list[int] = []
    for i, ch in enumerate(text):
        if ch == "{":
            opened.append(i)
        elif ch == "}" and opened:
            closing[opened.pop()] = i
    for start in reversed(starts):
        end = closing.get(start - 1)
        if end is not None:
            return text[start:end].strip()
    return None


def choice_letter(answer: str | None) -> str | None:
    """The choice letter an answer states, upper-case, or None if it states none.

    >>> [choice_letter(a) for a in ("b", "(C)", "D) 42", "**A**", "option E", "B: Paris")]
    ['B', 'C', 'D', 'A', 'E', 'B']
    >>> choice_letter("Paris") is None
    True
    """
    if answer is None:
        return None
    text = answer.strip().strip("*`").strip()
    match = _LETTER.match(text)
    if match is None:
        return None
    rest = text[match.end() :]
    # "A lot of people" starts with a letter and a space but is not a choice
    if rest and match.group(0).rstrip() == match.group(1) and rest[:1] not in ".:)-":
        return None
    return match.group(1).upper()


def _answer_line(text: str) -> str | None:
    matches = [*_ANSWER_LINE.finditer(text), *_GSM8K_LINE.finditer(text)]
    if not matches:
        return None
    last = max(matches, key=lambda m: m.start())
    answer = last.group(1).strip().strip("`*").strip()
    return answer[:-1].strip() if answer.endswith(".") else answer or None


def _code(text: str) -> str | None:
    blocks = _FENCE.findall(text)
    if blocks:
        return blocks[-1].strip("\n") or None
    start = _CODE_START.search(text)
    return text[start.start() :].strip() if start else None


def _latex(text: str) -> str | None:
    boxed = boxed_contents(text)
    if boxed is not None:
        return boxed or None
    line = _answer_line(text)
    if line is None:
        return None
    return line.strip("$").strip() or None


def _choice(text: str) -> str | None:
    line = _answer_line(text)
    if line is None:
        boxed = boxed_contents(text)
        return choice_letter(boxed) if boxed else None
    return choice_letter(line) or line


@dataclass(frozen=True)
class AnswerKind:
    """One task family's answer convention: what the model is told, how its answer is read
    and which grader judges it (``looplab.tasks.Grader`` dispatches on ``grading``)."""

    name: str
    about: str
    instruction: str
    """The sentence of the system prompt that says how to give the final answer."""
    extract: Callable[[str], str | None]
    grading: str
    """``value`` (a number, else exact text), ``latex`` (math-verify), ``choice`` (the
    letter), ``squad`` (SQuAD exact match, token F1 as the score) or ``tests`` (code run
    against hidden tests in the sandbox)."""
    example: str = "solve_example"
    """The prompt file of the one worked example a tool-less generator is shown."""


_ANSWER_LINE_RULE = "End with a last line of the form `Answer: <your final answer>`."
_CODE_RULE = "Reply with the complete Python function in one ```python code block."


def _value_kind(name: str, about: str) -> AnswerKind:
    return AnswerKind(name, about, _ANSWER_LINE_RULE, _answer_line, "value")


def _code_kind(name: str, about: str) -> AnswerKind:
    return AnswerKind(name, about, _CODE_RULE, _code, "tests")


ANSWER_KINDS: dict[str, AnswerKind] = {
    k.name: k
    for k in (
        _value_kind("custom", "an `Answer: X` line; a number compared as a number, else text"),
        _value_kind("arithmetic", "generated word problems, graded as custom"),
        _value_kind("gsm8k", "GSM8K: `Answer: X` or `#### X`, graded as a number"),
        _value_kind("bbmistake", "BIG-Bench Mistake traces, graded as custom"),
        AnswerKind(
            "math",
            "LaTeX answers (MATH): the last \\boxed{} or the answer line, equivalence by "
            "math-verify; a stated unit must match the reference's",
            "Put your final answer in \\boxed{}, on a last line of the form "
            "`Answer: \\boxed{<your final answer>}`.",
            _latex,
            "latex",
            "solve_example_math",
        ),
        AnswerKind(
            "choice",
            "multiple choice: the letter of one listed choice (A, B, ...)",
            "End with a last line of the form `Answer: <letter>`, the letter of one choice.",
            _choice,
            "choice",
            "solve_example_choice",
        ),
        AnswerKind(
            "qa",
            "short answers: SQuAD exact match against the reference and its aliases, "
            "token F1 kept as the graded score",
            "End with a last line of the form `Answer: <a short answer: a name, a date or a "
            "number, no sentence>`.",
            _answer_line,
            "squad",
            "solve_example_qa",
        ),
        AnswerKind(
            "browse",
            "questions about invented facts a local site holds, graded as qa",
            "End with a last line of the form `Answer: <a short answer: a name, a date or a "
            "number, no sentence>`.",
            _answer_line,
            "squad",
            "solve_example_qa",
        ),
        _code_kind("code", "generated small functions, graded by hidden tests in the sandbox"),
        _code_kind("humaneval", "HumanEval functions, graded by its check(candidate)"),
        _code_kind("mbpp", "MBPP functions, graded by the record's test_list asserts"),
    )
}
"""Every task family, by name: the one registry of answer conventions and graders."""

CODE_FAMILIES = frozenset(k.name for k in ANSWER_KINDS.values() if k.grading == "tests")
"""Task families whose answer is a program (graded by hidden tests in the sandbox)."""


def answer_kind(family: str) -> AnswerKind:
    """The answer convention of ``family``; an unknown family is read as ``custom``."""
    return ANSWER_KINDS.get(family, ANSWER_KINDS["custom"])


def is_code_family(family: str) -> bool:
    """Whether answers of ``family`` are programs rather than values."""
    return family in CODE_FAMILIES


def grader_blocks(family: str) -> bool:
    """Whether grading ``family``'s answers waits on another process (the sandbox running
    hidden tests, math-verify's worker): run it off the event loop."""
    return answer_kind(family).grading in ("tests", "latex")


def answer_format(family: str) -> str:
    """The instruction that tells a model how to give its final answer."""
    return answer_kind(family).instruction


def extract_answer(text: str, family: str) -> str | None:
    """The final answer in ``text`` by the family's convention, or None.

    >>> extract_answer("17*23 is 391.\\nAnswer: 391.", "arithmetic")
    '391'
    >>> extract_answer("no conclusion", "arithmetic") is None
    True
    >>> extract_answer("48/2 = <<48/2=24>>24\\n#### 72", "gsm8k")
    '72'
    """
    return answer_kind(family).extract(_TOOL_SPANS.sub("", text))


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
