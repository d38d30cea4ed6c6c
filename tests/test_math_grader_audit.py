"""The MATH grader over all 5,000 references of the MATH test split: each reference
grades equal to itself rewritten in equivalent forms and unequal to near misses of
it, through extraction and grading as a run's answers go (benchmarks/bench_math_grader.py
prints the same audit as a table)."""

from __future__ import annotations

from collections import Counter

import pytest

from looplab.tasks import EQUIVALENT_FORMS, NEAR_MISSES, audit, equivalent_forms, load_tasks
from looplab.tasks import near_misses as make_near_misses
from tests.helpers.data import data_dir


@pytest.fixture(scope="module")
def found() -> dict:
    refs = {t.id: t.answer for t in load_tasks(f"math:{data_dir() / 'math'}")}
    assert len(refs) == 5000
    return audit(refs)


def test_no_near_miss_is_accepted(found: dict) -> None:
    for form in NEAR_MISSES:
        assert found["tried"][form] > 0
    accepted = [f for f in found["failures"] if f[1] in NEAR_MISSES]
    assert accepted == []


def test_equivalent_forms_are_accepted_and_every_refusal_is_explained(found: dict) -> None:
    assert found["unparsed"] == []
    for form in EQUIVALENT_FORMS:
        tried, passed = found["tried"][form], found["passed"].get(form, 0)
        assert passed / tried >= 0.999, (form, [f for f in found["failures"] if f[1] == form])
    assert found["passed"]["as given"] == 5000
    classes = Counter(f[5] for f in found["failures"])
    assert not [name for name in classes if name.startswith("unexplained")], found["failures"]


def test_the_forms_are_what_they_say() -> None:
    forms = dict(equivalent_forms(r"\frac{3}{8}"))
    assert forms["dfrac"] == r"Answer: \boxed{\dfrac{3}{8}}"
    assert forms["decimal"] == r"Answer: \boxed{0.375}"
    assert "decimal" not in dict(equivalent_forms(r"\frac{1}{3}"))  # not exact
    assert dict(equivalent_forms("(1,2)"))["left-right"] == r"Answer: \boxed{\left(1,2\right)}"
    assert dict(equivalent_forms("15,\\!000"))["spaces"] == r"Answer: \boxed{  15,\!000  }"
    misses = dict(make_near_misses("0", is_zero=True, is_scalar=True))
    assert "sign flipped" not in misses and "factor of 2" not in misses  # -0 = 0
    misses = dict(make_near_misses(r"5\text{ cm}", is_zero=False, is_scalar=True))
    assert misses["wrong unit"] == r"Answer: \boxed{5\text{ meters}}"
    assert dict(make_near_misses("x+2", is_zero=False, is_scalar=True))["dropped term"] == (
        r"Answer: \boxed{x}"
    )
