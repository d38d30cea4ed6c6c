"""Rewrites of a LaTeX reference answer, for auditing a grader: forms it must accept as
equal and near misses it must refuse.

``equivalent_forms(ref)`` and ``near_misses(ref)`` give (name, answer text) pairs, each
answer text a model's last line (``Answer: \\boxed{...}``, ``Answer: $...$``), so an
audit runs the whole path a run's answers take: extraction, then grading. A near miss
is made only where it is sure to change the value (no sign flip of 0, no dropped term
of a single term); ``benchmarks/bench_math_grader.py`` and the tests run both over the
5,000 MATH references.
"""

from __future__ import annotations

import re
from fractions import Fraction

from looplab.tasks._math import stated_unit

__all__ = [
    "EQUIVALENT_FORMS",
    "NEAR_MISSES",
    "audit",
    "classify",
    "equivalent_forms",
    "near_misses",
    "reference_shape",
]

EQUIVALENT_FORMS = (
    "as given",
    "dfrac",
    "tfrac",
    "left-right",
    "spaces",
    "dollars",
    "period",
    "decimal",
)
"""The names of the equivalent rewrites, in report order."""
NEAR_MISSES = ("sign flipped", "off by one", "factor of 2", "dropped term", "wrong unit")
"""The names of the near misses, in report order."""

_FRACTION = re.compile(r"^(-?)\\[dt]?frac\s*(?:\{(\d+)\}|(\d))\s*(?:\{(\d+)\}|(\d))$")
_DECIMAL_OR_INT = re.compile(r"^-?\d+(?:\.\d+)?$")
_NUMBER_LITERAL = re.compile(r"(?<![\w.])(-?)(\d+(?:\.\d+)?)")
_ZERO_VALUED = re.compile(r"^-?0*(?:\.0*)?$")


def _boxed(latex: str) -> str:
    return f"Answer: \\boxed{{{latex}}}"


def _exact_decimal(latex: str) -> str | None:
    """``\\frac{a}{b}`` as the decimal it equals when that decimal ends (b = 2^i 5^j)."""
    match = _FRACTION.match(latex.strip())
    if match is None:
        return None
    sign, num, num1, den, den1 = match.groups()
    value = Fraction(int(num or num1), int(den or den1))
    d = value.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d != 1 or value.denominator == 1:
        return None
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    return f"{sign}{float(value):.{digits}f}"


def _balanced(text: str) -> bool:
    return text.count("(") == text.count(")") and text.count("[") == text.count("]")


def equivalent_forms(ref: str) -> list[tuple[str, str]]:
    """(name, answer line) for each rewrite of ``ref`` that must grade equal to it."""
    forms = [("as given", _boxed(ref))]
    if "\\frac" in ref:
        forms.append(("dfrac", _boxed(ref.replace("\\frac", "\\dfrac"))))
        forms.append(("tfrac", _boxed(ref.replace("\\frac", "\\tfrac"))))
    if re.search(r"[(\[]", ref) and _balanced(ref) and "\\left" not in ref:
        wrapped = re.sub(r"(?<!\\)([(\[])", r"\\left\1", ref)
        wrapped = re.sub(r"(?<!\\)([)\]])", r"\\right\1", wrapped)
        forms.append(("left-right", _boxed(wrapped)))
    # not a thousands separator (15,\!000 or 15,000) or a thin space (\,)
    spaced = re.sub(r"(?<!\\)\s*([+=]|,(?!\s*\\!|\d{3}(?!\d)))\s*", r" \1 ", ref)
    forms.append(("spaces", _boxed(f"  {spaced}  ")))
    forms.append(("dollars", f"Answer: ${ref}$"))
    forms.append(("period", _boxed(ref) + "."))
    decimal = _exact_decimal(ref)
    if decimal is not None:
        forms.append(("decimal", _boxed(decimal)))
    return forms


def _top_level_terms(ref: str) -> list[str]:
    """``ref`` split at the + and - outside any braces or brackets (a leading sign kept)."""
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(ref):
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif ch in "+-" and depth == 0 and i > 0 and ref[i - 1] not in "^_{(,=e":
            terms.append(ref[start:i])
            start = i
    terms.append(ref[start:])
    return [t for t in terms if t.strip()]


def near_misses(ref: str, *, is_zero: bool, is_scalar: bool) -> list[tuple[str, str]]:
    """(name, answer line) for each near miss of ``ref`` that must grade unequal to it.

    ``is_zero``: the reference's value is 0 (no sign flip or doubling then);
    ``is_scalar``: it is one number or expression, not a tuple, set, interval, matrix,
    equation or text (those get literal-level near misses instead)."""
    misses = []
    literals = list(_NUMBER_LITERAL.finditer(ref))
    text_only = "\\text" in ref and not literals
    if is_scalar and not text_only:
        if not is_zero:
            negated = (
                ref[1:] if ref.startswith("-") and len(_top_level_terms(ref)) == 1 else f"-({ref})"
            )
            misses.append(("sign flipped", _boxed(negated)))
            misses.append(("factor of 2", _boxed(f"2\\cdot({ref})")))
        if _DECIMAL_OR_INT.match(ref):
            misses.append(
                (
                    "off by one",
                    _boxed(str(Fraction(ref) + 1) if "." not in ref else f"{float(ref) + 1:g}"),
                )
            )
        else:
            misses.append(("off by one", _boxed(f"{ref}+1")))
        terms = _top_level_terms(ref)
        if len(terms) >= 2 and not _ZERO_VALUED.match(terms[-1].strip().lstrip("+")):
            misses.append(("dropped term", _boxed("".join(terms[:-1]))))
    elif literals:
        # a tuple, set, interval, matrix or equation: change one of its numbers
        last = literals[-1]
        bumped = str(Fraction(last[2]) + 1) if "." not in last[2] else f"{float(last[2]) + 1:g}"
        misses.append(("off by one", _boxed(ref[: last.start(2)] + bumped + ref[last.end(2) :])))
        first = next((m for m in literals if not _ZERO_VALUED.match(m[2])), None)
        if first is not None:
            flipped = ref[: first.start()] + ("" if first[1] else "-") + ref[first.start(2) :]
            misses.append(("sign flipped", _boxed(flipped)))
    unit = stated_unit(ref)
    if unit is not None:
        other = "meters" if not unit.startswith("meter") else "seconds"
        swapped = re.sub(
            r"(\\(?:text|mbox|mathrm|textnormal)\s*\{)[^{}]*(\})", rf"\1 {other}\2", ref
        )
        if swapped == ref:
            swapped = re.sub(r"[A-Za-z]{2,}(\s*\^\s*\{?[23]\}?)?\s*\.?$", other, ref)
        misses.append(("wrong unit", _boxed(swapped)))
    return misses


_SCALAR_TYPES = (
    "Integer", "Rational", "Float", "One", "Zero", "NegativeOne", "Half", "Pi",
    "Mul", "Add", "Pow", "ImaginaryUnit", "Exp1",
)  # fmt: skip
"""sympy types of one number or expression; any other sympy expression (cos(13), ...)
counts too, via ``is_scalar`` below."""


def reference_shape(ref: str) -> tuple[bool, bool] | None:
    """(is_zero, is_scalar) of a reference as math-verify parses it; None if it cannot."""
    import logging

    from math_verify import parse

    logging.disable(logging.WARNING)
    parsed = parse(f"$\\boxed{{{ref}}}$")
    if not parsed:
        return None
    value = parsed[0]
    import sympy

    is_text = type(value).__name__ == "Symbol" and "\\text" in ref
    is_scalar = not is_text and (
        type(value).__name__ in _SCALAR_TYPES or isinstance(value, sympy.Expr)
    )
    is_zero = bool(is_scalar and getattr(value, "is_zero", False))
    return is_zero, is_scalar


def audit(refs: dict[str, str], *, chunk: int = 400) -> dict:
    """Grade every equivalent form and near miss of each reference (id -> LaTeX) through
    extraction and ``latex_equal``: per form, how many were accepted of how many tried,
    and every failure as (id, form, reference, answer line, what the grader said)."""
    from looplab.answers import extract_answer
    from looplab.tasks._math import latex_equal_many

    cases: list[tuple[str, str, bool, str, str]] = []  # id, form, must_equal, ref, line
    unparsed = []
    for task_id, ref in refs.items():
        shape = reference_shape(ref)
        if shape is None:
            unparsed.append((task_id, ref))
            continue
        cases += [(task_id, f, True, ref, line) for f, line in equivalent_forms(ref)]
        cases += [
            (task_id, f, False, ref, line)
            for f, line in near_misses(ref, is_zero=shape[0], is_scalar=shape[1])
        ]
    verdicts: list[bool | None] = []
    for start in range(0, len(cases), chunk):
        part = cases[start : start + chunk]
        pairs = [(ref, extract_answer(line, "math") or "") for _, _, _, ref, line in part]
        verdicts += latex_equal_many(pairs)
    tried: dict[str, int] = {}
    passed: dict[str, int] = {}
    failures = []
    for (task_id, form, must_equal, ref, line), verdict in zip(cases, verdicts, strict=True):
        tried[form] = tried.get(form, 0) + 1
        if bool(verdict) == must_equal:
            passed[form] = passed.get(form, 0) + 1
        else:
            failures.append((task_id, form, ref, line, verdict, classify(form, ref, verdict)))
    return {"tried": tried, "passed": passed, "failures": failures, "unparsed": unparsed}


def classify(form: str, ref: str, verdict: bool | None) -> str:
    """Why a form was graded wrongly, in a few words: the failure classes the audit knows.
    ``unexplained`` is a failure nothing here accounts for."""
    if form == "dollars" and "\n" in ref:
        return "reference spans two lines: an `Answer:` line ends at its line break"
    if verdict is None:
        return "math-verify could not parse the reference or the answer"
    if form in NEAR_MISSES:
        return "unexplained: a near miss accepted"
    return "unexplained: an equivalent form refused"
