"""The vectorised metrics against brute force: the definitions restated as plain Python
over resampled task groups (the way the report computed them before), on a random
hand-built run with several samples, unparsed verdicts, faults and planted mistakes.

Point estimates must be identical; intervals, drawn from other random resamples,
must agree within Monte Carlo error.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict

import numpy as np
import pytest

from looplab.metrics import (
    TaskIndex,
    bootstrap,
    bootstrap_sums,
    compute_metrics,
    mcnemar_exact,
    paired_bootstrap,
    ratio,
)
from looplab.records import Attempt, Critique, TaskResult, ToolCall, Trajectory

MONTE_CARLO = 0.03
"""How far two bootstraps of 2,000 resamples may put a bound apart (SE ~ 0.005 here)."""


def _random_result(rng: random.Random, task: str, sample: int) -> TaskResult:
    n = rng.randint(1, 3)
    grades = [rng.random() < 0.5 for _ in range(n)]
    attempts, critiques = [], []
    for i in range(n):
        calls = []
        if rng.random() < 0.6:
            faulted = rng.random() < 0.4
            calls.append(
                ToolCall(
                    tool="calc",
                    input="1+1",
                    ok=True,
                    output="3" if faulted else "2",
                    fault="calc:digit" if faulted else None,
                    true_output="2" if faulted else None,
                )
            )
        answer = rng.choice(["2", "3", "4"])
        attempts.append(
            Attempt(iteration=i, text=f"Answer: {answer}", answer=answer, tool_calls=calls)
        )
        verdict = rng.choice(["correct", "incorrect", "unsure", None])
        confidence = None if verdict is None else round(rng.random(), 2)
        critiques.append(
            Critique(
                iteration=i,
                verdict=verdict,
                confidence=confidence,
                parsed=verdict is not None,
                mistake_step=rng.choice([None, 1, 2]),
            )
        )
    trajectory = Trajectory(
        task_id=task, graph="critic_loop", attempts=attempts, critiques=critiques
    )
    gold = {"mistake_step": rng.choice([None, 1, 2])}
    return TaskResult(task_id=task, sample=sample, trajectory=trajectory, grades=grades, gold=gold)


@pytest.fixture(scope="module")
def run():
    rng = random.Random(3)
    return [_random_result(rng, f"t{t}", s) for t in range(60) for s in range(2)]


def _groups(results):
    by_task = defaultdict(list)
    for r in results:
        by_task[r.task_id].append(r)
    return list(by_task.values())


def _share(flags):
    return sum(flags) / len(flags) if flags else None


def _brute(groups, per_result):
    """A pooled share over the items per_result(r) yields, resampling task groups."""
    return bootstrap(groups, lambda s: _share([x for g in s for r in g for x in per_result(r)]))


def _same(estimate, reference):
    assert estimate.value == pytest.approx(reference.value, abs=1e-12)
    if reference.low is None:
        assert estimate.low is None
        return
    assert estimate.low == pytest.approx(reference.low, abs=MONTE_CARLO)
    assert estimate.high == pytest.approx(reference.high, abs=MONTE_CARLO)


def _path(r, iterations):
    return [r.grades[min(i, len(r.grades) - 1)] for i in range(iterations)]


def test_accuracy_repair_and_damage_match_brute_force(run):
    m = compute_metrics(run)
    groups = _groups(run)
    for i in range(m.iterations):
        _same(m.accuracy[i], _brute(groups, lambda r, i=i: [_path(r, m.iterations)[i]]))
    _same(m.final_accuracy, _brute(groups, lambda r: [r.final_correct]))
    _same(m.repair_rate, _brute(groups, lambda r: [r.final_correct] if not r.grades[0] else []))
    _same(m.damage_rate, _brute(groups, lambda r: [not r.final_correct] if r.grades[0] else []))


def _judged(r):
    return [(c.verdict, c.confidence, r.grades[c.iteration]) for c in r.trajectory.critiques]


def _p(verdict, confidence):
    """P(right) of a verbal verdict; none for "unsure" or a missing confidence."""
    if confidence is None:
        return None
    return {"correct": confidence, "incorrect": 1 - confidence}.get(verdict)


def _ece(pairs):
    total = 0.0
    for b in range(10):
        members = [(p, y) for p, y in pairs if b / 10 <= p < (b + 1) / 10 or (b == 9 and p == 1)]
        if members:
            gap = sum(y for _, y in members) - sum(p for p, _ in members)
            total += abs(gap) / len(pairs)
    return total if pairs else None


def test_critic_rates_brier_and_ece_match_brute_force(run):
    c = compute_metrics(run).critic
    groups = _groups(run)
    _same(
        c.precision_incorrect,
        _brute(groups, lambda r: [not y for v, _, y in _judged(r) if v == "incorrect"]),
    )
    _same(
        c.recall_incorrect,
        _brute(groups, lambda r: [v == "incorrect" for v, _, y in _judged(r) if v and not y]),
    )
    _same(
        c.false_alarm,
        _brute(groups, lambda r: [v == "incorrect" for v, _, y in _judged(r) if v and y]),
    )
    decided = ("correct", "incorrect")
    _same(
        c.verdict_accuracy,
        _brute(groups, lambda r: [(v == "correct") == y for v, _, y in _judged(r) if v in decided]),
    )

    def pairs(sample):
        found = [(_p(v, conf), y) for g in sample for r in g for v, conf, y in _judged(r)]
        return [(p, y) for p, y in found if p is not None]

    def brier(sample):
        found = pairs(sample)
        return sum((p - y) ** 2 for p, y in found) / len(found) if found else None

    _same(c.brier, bootstrap(groups, brier))
    _same(c.ece, bootstrap(groups, lambda s: _ece(pairs(s))))


def test_propagation_and_mistake_metrics_match_brute_force(run):
    m = compute_metrics(run)
    groups = _groups(run)

    def faulted(r):
        return [
            (i, a)
            for i, a in enumerate(r.trajectory.attempts)
            if any(c.fault for c in a.tool_calls)
        ]

    def clean(r):
        return [
            (i, a)
            for i, a in enumerate(r.trajectory.attempts)
            if a.tool_calls and not any(c.fault for c in a.tool_calls)
        ]

    p = m.propagation
    _same(p.wrong_when_faulted, _brute(groups, lambda r: [not r.grades[i] for i, _ in faulted(r)]))
    _same(p.wrong_when_clean, _brute(groups, lambda r: [not r.grades[i] for i, _ in clean(r)]))

    def flagged(r, attempts):
        verdicts = {c.iteration: c.verdict for c in r.trajectory.critiques}
        return [verdicts[i] == "incorrect" for i, _ in attempts(r) if not r.grades[i]]

    _same(p.flagged, _brute(groups, lambda r: flagged(r, faulted)))
    _same(p.flagged_clean, _brute(groups, lambda r: flagged(r, clean)))

    def removed(r):
        last = len(r.trajectory.attempts) - 1
        return [r.final_correct for i, _ in faulted(r) if not r.grades[i] and i < last]

    _same(p.removed, _brute(groups, removed))

    k = m.mistakes

    def located(r):
        first = r.trajectory.critiques[0]
        return first.mistake_step == r.gold["mistake_step"]

    _same(k.exact, _brute(groups, lambda r: [located(r) and r.trajectory.critiques[0].parsed]))
    has = lambda r: r.gold["mistake_step"] is not None  # noqa: E731
    _same(k.repaired, _brute(groups, lambda r: [r.final_correct] if has(r) else []))
    _same(
        k.repaired_when_located,
        _brute(groups, lambda r: [r.final_correct] if has(r) and located(r) else []),
    )
    _same(k.broken, _brute(groups, lambda r: [not r.final_correct] if r.grades[0] else []))


def test_paired_bootstrap_and_mcnemar_match_brute_force():
    rng = random.Random(5)
    a = [rng.random() < 0.5 for _ in range(80)]
    b = [rng.random() < 0.6 for _ in range(80)]
    pairs = list(zip(a, b, strict=True))
    reference = bootstrap(pairs, lambda s: sum(y - x for x, y in s) / len(s))
    _same(paired_bootstrap(a, b), reference)
    for discordant in [(0, 0), (1, 9), (4, 4), (3, 17), (30, 12)]:
        n, low = sum(discordant), min(discordant)
        tail = sum(__import__("math").comb(n, i) for i in range(low + 1)) / 2**n
        assert mcnemar_exact(*discordant) == pytest.approx(min(1.0, 2 * tail), rel=1e-9)


def test_bootstrap_sums_edge_cases():
    index = TaskIndex(["a", "a", "b"])
    assert index.tasks == 2 and list(index.per_task([1, 2, 5])) == [3.0, 5.0]
    found = bootstrap_sums(
        {
            "never": ratio([0, 0], [0, 0]),  # undefined everywhere
            "all": ratio([2, 1], [2, 1]),  # all right: a degenerate interval
            "none": ratio([0, 0], [2, 1]),
        },
        2,
    )
    assert found["never"].value is None
    assert (found["all"].value, found["all"].low, found["all"].high) == (1.0, 1.0, 1.0)
    assert (found["none"].value, found["none"].low, found["none"].high) == (0.0, 0.0, 0.0)
    assert bootstrap_sums({"x": ratio([], [])}, 0)["x"].value is None
    with pytest.raises(ValueError, match="rows"):
        bootstrap_sums({"x": ratio([1], [1])}, 2)


def test_resamples_in_chunks_give_the_same_counts():
    """Chunking bounds memory at any size; it must not change a number."""
    from looplab.metrics import resample_counts

    whole = np.vstack(list(resample_counts(500, 1000, seed=1)))
    chunks = list(resample_counts(500, 1000, seed=1, cells_per_chunk=500 * 7))
    assert len(chunks) == 143  # 142 chunks of 7 resamples and one of 6
    assert np.array_equal(np.vstack(chunks), whole)  # the chunks draw the same random stream


def test_intervals_do_not_depend_on_the_order_results_arrived(run):
    # A run finished at another concurrency (or resumed) lists its results in another
    # order; its report must be the same, intervals included.
    shuffled = list(run)
    random.Random(7).shuffle(shuffled)
    a, b = compute_metrics(run), compute_metrics(shuffled)
    # the reliability bins' mean confidences are float sums: equal up to summation order
    bins = {s: [(x.answers, x.confidence) for x in m.bins] for s, m in a.critic.by_source.items()}
    assert bins == {
        s: [(x.answers, pytest.approx(x.confidence)) for x in m.bins]
        for s, m in b.critic.by_source.items()
    }

    def without_bins(m):
        by_source = {s: dataclasses.replace(c, bins=[]) for s, c in m.critic.by_source.items()}
        return dataclasses.replace(m, critic=dataclasses.replace(m.critic, by_source=by_source))

    assert without_bins(a) == without_bins(b)
