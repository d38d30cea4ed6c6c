"""Metrics on hand-built trajectories with known answers: every number checked."""

from __future__ import annotations

import math
import random

import pytest

from looplab.metrics import (
    bootstrap,
    compare_results,
    compute_metrics,
    mcnemar_exact,
    paired_bootstrap,
    pass_at_k,
)
from looplab.records import Attempt, Critique, TaskResult, Trajectory, Usage


def attempt(i: int, tokens: int = 10) -> Attempt:
    return Attempt(
        iteration=i,
        text=f"attempt {i}",
        answer=str(i),
        usage=Usage(prompt_tokens=tokens, calls=1),
        model="gen",
    )


def critique(i: int, verdict: str | None, confidence: float | None, tokens: int = 5) -> Critique:
    return Critique(
        iteration=i,
        verdict=verdict,
        confidence=confidence,
        parsed=verdict is not None,
        usage=Usage(prompt_tokens=tokens, calls=1),
        model="critic",
    )


def result(
    task: str, grades: list[bool], verdicts: list[tuple[str | None, float | None]], sample: int = 0
) -> TaskResult:
    trajectory = Trajectory(
        task_id=task,
        graph="critic_loop",
        attempts=[attempt(i) for i in range(len(grades))],
        critiques=[critique(i, v, c) for i, (v, c) in enumerate(verdicts)],
        stop_reason="test",
        models={"generator": "gen", "critic": "critic"},
    )
    return TaskResult(task_id=task, sample=sample, trajectory=trajectory, grades=grades)


RESULTS = [
    result("T1", [False, True], [("incorrect", 0.8), ("correct", 0.9)]),  # repaired
    result("T2", [True, False], [("incorrect", 0.6), ("correct", 0.7)]),  # broken
    result("T3", [True], [("correct", 0.9)]),  # right at once
    result("T4", [False, False, False], [("correct", 0.5), ("incorrect", 0.9), (None, None)]),
]


@pytest.fixture(scope="module")
def metrics():
    return compute_metrics(RESULTS)


def test_accuracy_per_iteration_carries_the_last_answer_forward(metrics):
    assert metrics.iterations == 3
    assert [e.value for e in metrics.accuracy] == [0.5, 0.5, 0.5]
    assert metrics.final_accuracy.value == 0.5
    for estimate in (*metrics.accuracy, metrics.final_accuracy):
        assert 0.0 <= estimate.low <= estimate.value <= estimate.high <= 1.0


def test_flips(metrics):
    assert dict(metrics.flips[0]) == {"cc": 1, "cw": 1, "wc": 1, "ww": 1}
    assert dict(metrics.flips[1]) == {"cc": 2, "cw": 0, "wc": 0, "ww": 2}
    assert dict(metrics.first_to_final) == {"cc": 1, "cw": 1, "wc": 1, "ww": 1}
    assert metrics.repair_rate.value == 0.5 and metrics.damage_rate.value == 0.5


def test_critic_against_ground_truth(metrics):
    c = metrics.critic
    assert c.judged == 8 and c.unparsed == 1
    assert c.confusion == {
        "correct": {"correct": 2, "incorrect": 2},
        "incorrect": {"correct": 1, "incorrect": 2},
        "unsure": {"correct": 0, "incorrect": 0},
    }
    assert c.precision_incorrect.value == pytest.approx(2 / 3)
    assert c.recall_incorrect.value == pytest.approx(2 / 4)
    assert c.false_alarm.value == pytest.approx(1 / 3)
    assert c.verdict_accuracy.value == pytest.approx(4 / 7)
    assert c.brier.value == pytest.approx(1.17 / 7)
    assert c.ece.value == pytest.approx(2.3 / 7)


def test_each_confidence_source_is_judged_by_how_it_separates_right_from_wrong(metrics):
    """The critiques' probabilities that their answers are right, against the grades:
    (0.2, wrong) (0.9, right) (0.4, right) (0.7, wrong) (0.9, right) (0.5, wrong) (0.1,
    wrong), the unparsed one left out; AUROC by counting pairs."""
    d = metrics.critic.by_source["verbal"]
    assert d.n == 7 and d.right == 3
    pos, neg = [0.9, 0.4, 0.9], [0.2, 0.7, 0.5, 0.1]
    wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
    assert d.auroc.value == pytest.approx(wins / 12)
    assert d.auroc.low <= d.auroc.value <= d.auroc.high
    mixed = [
        *RESULTS[:2],
        result("T5", [True], [("correct", 0.8)]).model_copy(
            update={"trajectory": result("T5", [True], [("correct", 0.8)]).trajectory.model_copy(
                update={"critiques": [critique(0, "incorrect", 0.3).model_copy(
                    update={"confidence_source": "p_true"})]}
            )}
        ),
    ]  # fmt: skip
    by_source = compute_metrics(mixed).critic.by_source
    assert sorted(by_source) == ["p_true", "verbal"] and by_source["p_true"].n == 1


def test_tokens_and_pass_at_t(metrics):
    # each attempt costs 10 tokens and each critique 5: paths 15/30/45 tokens
    assert metrics.budgets == [15, 30, 45]
    assert metrics.pass_at_budget == [0.5, 0.5, 0.5]
    assert metrics.total_tokens == 30 + 30 + 15 + 45
    assert metrics.tokens_by_role == {"generator": 8 * 10, "critic": 8 * 5}
    assert metrics.tokens_per_solved == 120 / 2
    assert metrics.model_calls == 4 + 4 + 2 + 6


def test_pass_at_t_counts_the_answer_held_at_each_budget():
    late = result("L", [False, False, True], [("incorrect", 0.9)] * 3)
    m = compute_metrics([late])
    assert m.budgets == [15, 30, 45] and m.pass_at_budget == [0.0, 0.0, 1.0]


def test_errors_are_counted_not_graded():
    failed = TaskResult(task_id="T5", error="LLMConnectionError: down")
    m = compute_metrics([*RESULTS, failed])
    assert m.errors == 1 and m.results == 5 and m.tasks == 5
    # intention to treat: the failed task is wrong in the headline, left out beside it
    assert m.final_accuracy.value == 0.4 and m.answered_accuracy.value == 0.5


def test_pass_at_k_matches_the_reference_formula():
    for n in range(1, 12):
        for c in range(n + 1):
            for k in range(1, n + 1):
                reference = 1 - math.comb(n - c, k) / math.comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(reference, abs=1e-12)
    with pytest.raises(ValueError, match="at least 3 samples"):
        pass_at_k(2, 1, 3)


def test_pass_at_k_from_samples():
    samples = [
        result("A", [ok], [("correct", 0.9)], sample=s)
        for s, ok in enumerate([True, False, False, False])
    ]
    samples += [result("B", [False], [("correct", 0.9)], sample=s) for s in range(4)]
    m = compute_metrics(samples)
    assert m.samples == 4
    assert m.pass_at_k[1].value == pytest.approx((0.25 + 0.0) / 2)
    assert m.pass_at_k[4].value == pytest.approx((1.0 + 0.0) / 2)


def test_bootstrap_interval_covers_the_truth_about_95_percent_of_the_time():
    rng = random.Random(7)
    truth, covered, trials = 0.3, 0, 150
    for trial in range(trials):
        draws = [rng.random() < truth for _ in range(100)]
        estimate = bootstrap(draws, lambda s: sum(s) / len(s), resamples=400, seed=trial)
        covered += estimate.low <= truth <= estimate.high
    assert 0.88 <= covered / trials <= 0.99


def test_mcnemar_exact_against_the_binomial_tail():
    assert mcnemar_exact(5, 5) == 1.0
    tail = sum(math.comb(12, i) for i in range(3)) / 2**12
    assert mcnemar_exact(2, 10) == pytest.approx(2 * tail)
    assert mcnemar_exact(10, 2) == mcnemar_exact(2, 10)


def test_paired_bootstrap_and_compare():
    a = [True, False, False, True, False, False]
    b = [True, True, True, True, False, True]
    difference = paired_bootstrap(a, b)
    assert difference.value == pytest.approx(3 / 6)
    assert difference.low <= difference.value <= difference.high
    run_a = [result(f"t{i}", [ok], [("correct", 0.5)]) for i, ok in enumerate(a)]
    run_b = [result(f"t{i}", [ok], [("correct", 0.5)]) for i, ok in enumerate(b)]
    c = compare_results(run_a, run_b)
    assert (c.pairs, c.both, c.only_a, c.only_b, c.neither) == (6, 2, 0, 3, 1)
    assert c.p_value == pytest.approx(mcnemar_exact(0, 3)) == pytest.approx(0.25)
