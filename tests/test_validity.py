"""Numbers a reviewer cannot knock down: each test is a hand-built run with a known
answer, fed to the real functions and commands, checked against the exact figure (an
exact test, a closed-form interval worked by hand, or brute force)."""

from __future__ import annotations

import itertools
import math
import re

import pytest
from scipy.stats import binom, multinomial

from looplab.metrics import (
    compare_results,
    compute_metrics,
    holm,
    mcnemar_exact,
    paired_difference_interval,
    power_tasks,
    proportion_interval,
    sign_flip_test,
)
from looplab.records import Attempt, Critique, TaskResult, Trajectory, Usage
from looplab.report import print_blocks, run_report
from looplab.studies import STUDIES, StudyOptions, arm_tokens
from looplab.tasks import load_tasks


def answered(task: str, grades: list[bool], sample: int = 0, **trajectory) -> TaskResult:
    attempts = [
        Attempt(iteration=i, text=str(i), answer=str(i), usage=Usage(prompt_tokens=10, calls=1))
        for i in range(len(grades))
    ]
    made = Trajectory(task_id=task, graph="critic_loop", attempts=attempts, **trajectory)
    return TaskResult(task_id=task, sample=sample, trajectory=made, grades=grades)


def failed(task: str, sample: int = 0) -> TaskResult:
    return TaskResult(task_id=task, sample=sample, error="LLMServerError: 500")


def run_of(rights: list[bool], samples: int = 1) -> list[TaskResult]:
    return [answered(f"t{i:02d}", [ok], s) for i, ok in enumerate(rights) for s in range(samples)]


def report_text(results: list[TaskResult]) -> str:
    from io import StringIO

    from rich.console import Console

    buffer = StringIO()
    report = run_report(compute_metrics(results))
    print_blocks([*report.summary, *report.sections], Console(file=buffer, width=400))
    return buffer.getvalue()


# -- 1. the task is the unit ---------------------------------------------------------------


def test_compare_pairs_tasks_not_samples():
    """20 tasks x 5 clustered samples, B better on 4 tasks: 20 pairs, exact p = 0.125."""
    a = run_of([False] * 4 + [True] * 8 + [False] * 8, samples=5)
    b = run_of([True] * 4 + [True] * 8 + [False] * 8, samples=5)
    c = compare_results(a, b)
    assert c.pairs == 20 and c.samples_a == c.samples_b == 100
    assert (c.only_a, c.only_b, c.both, c.neither) == (0, 4, 8, 8)
    assert c.p_value == pytest.approx(0.125)
    assert c.difference.value == pytest.approx(0.2)
    # Bonett-Price by hand: (5/22 - 1/22) +- 1.96 sqrt((6/22 - (4/22)^2) / 22)
    center = 4 / 22
    half = 1.959964 * math.sqrt((6 / 22 - center**2) / 22)
    assert (c.difference.low, c.difference.high) == pytest.approx(
        (center - half, center + half), abs=1e-6
    )
    assert c.difference.method == "bonett-price"


def test_compare_with_disagreeing_samples_uses_a_permutation_test_over_tasks():
    a = run_of([False] * 10, samples=4)
    b = [answered(f"t{i:02d}", [s < 2 and i < 3], s) for i in range(10) for s in range(4)]
    c = compare_results(a, b)
    assert c.pairs == 10 and c.test == "sign-flip permutation"
    # three tasks at +0.5, seven at 0: 2 of the 2^3 sign patterns are as extreme
    assert c.p_value == pytest.approx(0.25)
    assert c.difference.value == pytest.approx(0.15)
    assert c.difference.low < 0.15 < c.difference.high


def test_sign_flip_equals_mcnemar_on_binary_tasks():
    for b, c in [(0, 4), (3, 9), (5, 5), (1, 0)]:
        d = [-1.0] * b + [1.0] * c + [0.0] * 6
        assert sign_flip_test(d) == pytest.approx(mcnemar_exact(b, c))


# -- 2. intervals with honest coverage ---------------------------------------------------


def test_zero_of_twenty_is_not_a_point():
    m = compute_metrics(run_of([False] * 20))
    assert m.final_accuracy.value == 0.0
    assert m.final_accuracy.method == "clopper-pearson"
    assert (m.final_accuracy.low, m.final_accuracy.high) == pytest.approx((0.0, 0.16843), abs=1e-5)
    assert "0.0% [0.0%, 0.0%]" not in report_text(run_of([False] * 20))


def test_no_discordant_task_still_has_a_width():
    same = run_of([True] * 10 + [False] * 10)
    c = compare_results(same, same)
    assert c.difference.value == 0.0 and c.difference.low < -0.1 and c.difference.high > 0.1


def test_clopper_pearson_against_a_hand_checked_table():
    # values from the beta quantiles that define it (Clopper & Pearson 1934)
    table = {(0, 10): (0.0, 0.30850), (1, 20): (0.00127, 0.24873), (10, 10): (0.69150, 1.0)}
    for (k, n), expected in table.items():
        assert proportion_interval(k, n) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("n", [10, 20, 50, 200])
@pytest.mark.parametrize("p", [0.02, 0.05, 0.1, 0.3, 0.5, 0.9])
def test_share_interval_covers_at_least_93_percent_exactly(n, p):
    coverage = sum(
        binom.pmf(k, n, p) for k in range(n + 1) if _inside(p, proportion_interval(k, n))
    )
    assert coverage >= 0.93


@pytest.mark.parametrize("n", [10, 20])
def test_paired_interval_covers_at_least_93_percent_exactly(n):
    """Exact coverage over every table of n pairs, for accuracies on the issue's grid."""
    tables = [
        (a, b, c, n - a - b - c)
        for a in range(n + 1)
        for b in range(n + 1 - a)
        for c in range(n + 1 - a - b)
    ]
    worst = 1.0
    for p, delta, rho in itertools.product([0.02, 0.1, 0.3, 0.5, 0.9], [0.0, 0.1], [0.0, 0.8]):
        pa, pb = p, min(1.0, p + delta)
        both = rho * min(pa, pb) + (1 - rho) * pa * pb
        cells = [both, pa - both, pb - both, 1 - pa - pb + both]
        covered = sum(
            multinomial.pmf(list(t), n, cells)
            for t in tables
            if _inside(pb - pa, paired_difference_interval(t[1], t[2], n))
        )
        worst = min(worst, covered)
    assert worst >= 0.93


def _inside(value: float, interval: tuple[float, float]) -> bool:
    return interval[0] - 1e-12 <= value <= interval[1] + 1e-12


# -- 3. significance a reviewer accepts ----------------------------------------------------


def test_holm_against_a_hand_checked_table():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.2, 0.001]) == pytest.approx([0.2, 0.002])
    assert holm([]) == []


def test_power_line_follows_connor():
    # 4 of 20 discordant, all one way: psi = delta = 0.2
    z_a, z_b = 1.959964, 0.841621
    expected = math.ceil((z_a * math.sqrt(0.2) + z_b * math.sqrt(0.2 - 0.04)) ** 2 / 0.04)
    assert power_tasks(0, 4, 20) == expected
    assert power_tasks(3, 3, 20) is None


def test_compute_study_never_calls_significant_what_the_exact_test_does_not():
    """5/0 discordant of 10 tasks: exact p = 0.0625, so not significant, whatever the CI."""
    single = [answered(f"t{i}", [i >= 5], chosen=0) for i in range(10)]
    refine = [answered(f"t{i}", [True]) for i in range(10)]
    arms = {"single": single, "self_refine@2": refine}
    tables = STUDIES["compute"].summarize(arms, StudyOptions())
    row = tables[1].rows[0]
    assert row[0] == "self_refine@2" and row[4] == "0.062"
    assert "no method's accuracy differs" in tables[1].note
    assert "Holm" in tables[1].note


def test_feedback_study_corrects_across_arms():
    intrinsic = run_of([False] * 12)
    arms = {
        "intrinsic": intrinsic,
        "calculator-checks": run_of([True] * 7 + [False] * 5),  # exact p = 0.0156
        "oracle": run_of([True] * 6 + [False] * 6),  # exact p = 0.0312
    }
    tables = STUDIES["feedback"].summarize(arms, StudyOptions())
    rows = {row[0]: row for row in tables[1].rows}
    assert rows["calculator checks"][2] == "0.016" and rows["calculator checks"][3] == "0.031"
    assert rows["ORACLE (upper bound)"][3] == "0.031"
    assert "calculator checks" in tables[1].note and "Holm" in tables[1].note


# -- 4. one definition per metric ----------------------------------------------------------


def judged(task: str, right: bool, critique: Critique) -> TaskResult:
    return answered(task, [right], critiques=[critique])


def test_a_probability_critic_is_calibrated_on_its_own_probability():
    results = [
        judged(f"r{i}", True, Critique(iteration=0, verdict="correct", confidence=0.9,
                                       confidence_source="p_true"))
        for i in range(10)
    ] + [
        judged(f"w{i}", False, Critique(iteration=0, verdict="incorrect", confidence=0.1,
                                        confidence_source="p_true"))
        for i in range(10)
    ]  # fmt: skip
    critic = compute_metrics(results).critic
    assert critic.brier.value == pytest.approx(0.01)
    assert critic.ece.value == pytest.approx(0.1)
    assert critic.by_source["p_true"].brier.value == pytest.approx(critic.brier.value)


def test_unsure_is_left_out_the_same_way_in_every_line():
    results = []
    for i in range(20):
        verdict = "unsure" if i % 4 == 0 else ("correct" if i % 3 else "incorrect")
        results.append(judged(f"t{i}", i % 2 == 0, Critique(iteration=0, verdict=verdict,
                                                           confidence=0.8)))  # fmt: skip
    critic = compute_metrics(results).critic
    source = critic.by_source["verbal"]
    assert critic.with_probability == source.n == 15
    assert critic.brier.value == pytest.approx(source.brier.value)
    assert critic.ece.value == pytest.approx(source.ece.value)
    assert "5 unsure or unparsed left out" in report_text(results)


def test_a_pick_is_selection_not_repair():
    picks = [
        answered(f"t{i}", [False, True, False], chosen=1) for i in range(10)
    ]  # best_of_n picked its second sample every time
    m = compute_metrics(picks)
    assert m.selection and m.repair_rate.value is None and m.damage_rate.value is None
    assert m.first_accuracy.value == 0.0 and m.final_accuracy.value == 1.0
    text = report_text(picks)
    assert "selection, not repair" in text and "repair rate" not in text


# -- 5. failures count -----------------------------------------------------------------------


def test_failed_tasks_are_wrong_in_the_headline():
    results = run_of([True] * 5 + [False] * 5) + [failed(f"f{i}") for i in range(10)]
    m = compute_metrics(results)
    assert m.tasks == 20 and m.errors == 10
    assert m.final_accuracy.value == 0.25 and m.answered_accuracy.value == 0.5
    assert re.search(r"final accuracy 25\.0% .*over the 10 answered: 50\.0%", report_text(results))


def test_compare_counts_failures_as_wrong_and_says_they_differ():
    a = run_of([True] * 10)
    b = run_of([True] * 5) + [failed(f"t{i:02d}") for i in range(5, 10)]
    c = compare_results(a, b)
    assert c.pairs == 10 and c.accuracy_b == 0.5 and c.only_a == 5
    assert (c.failed_a, c.failed_b) == (0, 5) and c.failures_differ


def test_arm_tokens_resample_tasks_not_results():
    results = [answered(f"t{i}", [True], s) for i in range(3) for s in range(5)]
    estimate, _ = arm_tokens(results)
    assert estimate.n == 3 and estimate.value == 10.0


# -- 6. generated tasks with one reading ------------------------------------------------------

_READINGS = {
    r"^(\w+) has (\d+) (\w+)\.$": None,
    r"^Then (\w+) finds (\d+) more\.$": lambda v, a: v + a,
    r"^Then (\w+) gives away (\d+)\.$": lambda v, a: v - a,
    r"^Then (\w+) ends up with (\d+) times as many (\w+) as before\.$": lambda v, a: v * a,
    r"^How many (\w+) does (\w+) have now\?$": None,
}


def test_every_generated_sentence_has_one_reading_and_grades_it():
    """Each sentence must match one template whose operation is the one graded."""
    for spec in ("arithmetic:n=200,steps=3", "arithmetic:n=200,steps=1,digits=3"):
        for task in load_tasks(spec):
            sentences = re.split(r"(?<=[.?])\s+", task.prompt)
            value = None
            for sentence in sentences:
                matches = [(p, op) for p, op in _READINGS.items() if re.match(p, sentence)]
                assert len(matches) == 1, f"{task.id}: {sentence!r} has no single reading"
                _, operation = matches[0]
                numbers = [int(x) for x in re.findall(r"\d+", sentence)]
                if value is None and numbers:
                    value = numbers[0]
                elif operation is not None:
                    value = operation(value, numbers[0])
            assert str(value) == task.answer, task.id


def test_no_share_in_any_table_collapses_to_a_point_at_zero():
    """Every share a report or study prints keeps a width at 0%: selective accuracy,
    the oracle-stopped column, the self-repair grid's pass rate."""
    from looplab.metrics import confidence_metrics
    from looplab.studies import oracle_stopped_accuracy

    selective = confidence_metrics([0.2, 0.7, 0.7, 0.9] * 5, [False] * 20).selective_accuracy
    assert selective.value == 0.0 and selective.high > 0.1
    upper = oracle_stopped_accuracy(run_of([False] * 10), 2)
    assert all(e.value == 0.0 and e.high > 0.2 for e in upper)
