"""Confidence sources (P(True), answer log-probability, agreement) and the metrics that
judge them, each against a hand or brute-force computation."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from looplab.agents import P_TRUE_PREFIX, agreement, answer_logprob, p_true_from, p_true_messages
from looplab.llm import Completion, TokenLogprob
from looplab.metrics import confidence_metrics, reliability_bins, risk_coverage
from looplab.records import Usage


def entry(token, logprob, *top):
    return TokenLogprob(token=token, logprob=logprob, top=tuple(top))


def test_p_true_pools_the_spellings_of_each_option_at_the_first_option_token():
    reply = [
        entry(" (", -0.1, (" (", -0.1)),  # not an option: skipped
        entry("A", -0.5, ("A", -0.5), (" A", -2.0), ("True", -3.0), ("B", -1.0), ("C", -4.0)),
        entry(")", -0.1),
    ]
    true_mass = math.exp(-0.5) + math.exp(-2.0) + math.exp(-3.0)
    false_mass = math.exp(-1.0)
    assert p_true_from(reply) == pytest.approx(true_mass / (true_mass + false_mass))
    # the word options and a False first
    words = [entry(" False", -0.2, (" False", -0.2), ("(B", -1.5), (" true", -2.5))]
    expected = math.exp(-2.5) / (math.exp(-2.5) + math.exp(-0.2) + math.exp(-1.5))
    assert p_true_from(words) == pytest.approx(expected)
    assert p_true_from([entry("Maybe", -0.1, ("Maybe", -0.1))]) is None
    assert p_true_from([]) is None


def test_p_true_question_shows_samples_and_begins_the_reply():
    messages = p_true_messages("What is 2+2?", "4", ["4", "5"])
    assert messages[-1].role == "assistant" and messages[-1].content == P_TRUE_PREFIX
    asked = messages[0].content
    assert "Question: What is 2+2?" in asked and "Proposed Answer: 4" in asked
    assert "brainstormed ideas:\n- 4\n- 5" in asked and "(A) True" in asked
    assert len(p_true_messages("q", "a", continuation=False)) == 1


def test_answer_logprob_is_the_geometric_mean_over_the_answer_tokens():
    tokens = [entry("x", -1.0), entry(" =", -0.5), entry(" 4", -0.2), entry("2", -0.4)]
    completion = Completion(
        text="x = 42",
        finish_reason="stop",
        usage=Usage(),
        model="m",
        logprobs=tuple(tokens),
    )
    assert answer_logprob(completion, "42") == pytest.approx(math.exp((-0.2 - 0.4) / 2))
    assert answer_logprob(completion, "7") is None and answer_logprob(completion, None) is None
    assert answer_logprob(completion.model_copy(update={"logprobs": None}), "42") is None


def test_agreement_counts_samples_equal_to_the_answer():
    same = lambda a, b: a.strip() == b.strip()  # noqa: E731
    assert agreement("4", ["4", " 4", "5", None], same) == 0.5
    assert agreement(None, ["4"], same) is None and agreement("4", [], same) is None


# -- metrics against brute force ----------------------------------------------------------


def brute_auroc(c, y):
    pos = [ci for ci, yi in zip(c, y, strict=True) if yi]
    neg = [ci for ci, yi in zip(c, y, strict=True) if not yi]
    if not pos or not neg:
        return None
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def brute_risk_curve(c, y):
    """Risk after taking every answer at least as confident as each distinct level."""
    points = []
    for level in sorted(set(c), reverse=True):
        taken = [yi for ci, yi in zip(c, y, strict=True) if ci >= level]
        points.append((len(taken) / len(c), 1 - sum(taken) / len(taken)))
    return points


def tie_orders(c, y):
    """Every order of the outcomes, most confident first, that breaking the ties of
    ``c`` can give (each distinct order of a tie group's outcomes once: every order of
    the answers gives each equally often)."""
    groups = [
        [yi for ci, yi in zip(c, y, strict=True) if ci == level]
        for level in sorted(set(c), reverse=True)
    ]
    arrangements = [sorted(set(itertools.permutations(g))) for g in groups]
    for parts in itertools.product(*arrangements):
        yield [yi for part in parts for yi in part]


def brute_aurc(c, y):
    """Geifman et al.: the mean over i of the risk of the i most confident, averaged over
    the tie orders."""
    values = []
    for order in tie_orders(c, y):
        risks = [1 - sum(order[:i]) / i for i in range(1, len(order) + 1)]
        values.append(sum(risks) / len(risks))
    return sum(values) / len(values)


def brute_selective(c, y, coverage):
    """Accuracy of exactly coverage x n most confident answers, averaged over tie orders."""
    m = round(coverage * len(c))
    values = [sum(order[:m]) / m for order in tie_orders(c, y)]
    return sum(values) / len(values)


def brute_ece(c, y):
    bins = {}
    for ci, yi in zip(c, y, strict=True):
        bins.setdefault(min(int(ci * 10), 9), []).append((ci, yi))
    return sum(abs(sum(yi - ci for ci, yi in items)) for items in bins.values()) / len(c)


CASES = {
    "ties": ([0.9, 0.9, 0.5, 0.5, 0.5, 0.1, 1.0, 0.0], [1, 0, 1, 1, 0, 0, 1, 0]),
    "all right": ([0.2, 0.7, 0.7, 0.9], [1, 1, 1, 1]),
    "all wrong": ([0.2, 0.7, 0.7, 0.9], [0, 0, 0, 0]),
    "unparsed left out": ([0.8, None, 0.3, None, 0.6, 0.55], [1, 1, 0, 0, 0, 1]),
    "random": (
        [random.Random(i).choice([0.2, 0.4, 0.6, 0.8]) for i in range(12)],
        [random.Random(100 + i).random() < 0.4 for i in range(12)],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_metrics_equal_brute_force(case):
    confidences, correct = CASES[case]
    kept = [(ci, bool(yi)) for ci, yi in zip(confidences, correct, strict=True) if ci is not None]
    c, y = [k[0] for k in kept], [k[1] for k in kept]
    got = confidence_metrics(confidences, [bool(v) for v in correct], resamples=200)
    assert got.n == len(c) and got.right == sum(y)
    auroc = brute_auroc(c, y)
    assert (got.auroc.value is None) if auroc is None else got.auroc.value == pytest.approx(auroc)
    assert got.aurc.value == pytest.approx(brute_aurc(c, y))
    assert got.selective_accuracy.value == pytest.approx(brute_selective(c, y, 0.5))
    assert got.ece.value == pytest.approx(brute_ece(c, y))
    assert got.brier.value == pytest.approx(
        sum((ci - yi) ** 2 for ci, yi in zip(c, y, strict=True)) / len(c)
    )
    curve, brute = risk_coverage(confidences, correct), brute_risk_curve(c, y)
    assert [x for point in curve for x in point] == pytest.approx(
        [x for point in brute for x in point]
    )
    bins = reliability_bins(confidences, correct)
    assert sum(b.answers for b in bins) == len(c)
    for b in bins:
        inside = [(ci, yi) for ci, yi in kept if b.low <= ci < b.high or (b.high == 1 == ci)]
        assert b.answers == len(inside)
        if inside:
            assert b.accuracy == pytest.approx(sum(yi for _, yi in inside) / len(inside))


def test_intervals_hold_the_value_and_repeat():
    confidences, correct = CASES["random"]
    first = confidence_metrics(confidences, correct)
    again = confidence_metrics(confidences, correct)
    assert first == again
    for estimate in (first.auroc, first.aurc, first.selective_accuracy, first.ece, first.brier):
        assert estimate.low <= estimate.value <= estimate.high


def test_no_scored_answers_gives_no_numbers():
    empty = confidence_metrics([None, None], [True, False])
    assert empty.n == 0 and empty.auroc.value is None and empty.ece.value is None


# -- the study, end to end on the embedded model ------------------------------------------


@pytest.mark.slow
def test_calibration_study_scores_resumes_and_never_doubles(embedded_model, tmp_path):
    from looplab.studies import (
        RECORDS,
        CalibrationOptions,
        calibration_tables,
        run_calibration,
        study_tasks,
    )

    options = CalibrationOptions(limit=3, samples=1, max_tokens=48)
    records, root = run_calibration(options, tmp_path, model=embedded_model)
    assert [r["task"] for r in records] == [t.id for t in study_tasks(options)]
    for record in records:
        assert set(record["confidences"]) == set(options.sources)
        for value in record["confidences"].values():
            assert value is None or 0.0 <= value <= 1.0
        assert record["tokens"]["p_true"] > 0 and record["tokens"]["answer_logprob"] == 0
    # a kill mid-write leaves half a line: that task is done again, nothing is doubled
    path = root / RECORDS
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2]) + lines[2][: len(lines[2]) // 2])
    again, _ = run_calibration(options, tmp_path, model=embedded_model)
    assert sorted(r["task"] for r in again) == sorted(r["task"] for r in records)
    assert len(path.read_text().splitlines()) == 3
    assert again[2] == records[2]  # greedy answers and scores replay exactly
    rows = calibration_tables(again)
    assert {row.source for row in rows} == set(options.sources)


@pytest.mark.slow
def test_a_p_true_critic_takes_its_verdict_from_the_threshold(embedded_model, tmp_path):
    """The recorded reply's log-probabilities give the critique's confidence by hand."""
    import json

    from looplab.agents import Critic
    from looplab.llm import RecordingModel
    from looplab.records import TaskView

    recorder = RecordingModel(embedded_model, tmp_path)
    task = TaskView(id="t", prompt="What is 7 + 5?", family="arithmetic")
    for threshold in (0.0, 1.0):
        critic = Critic(recorder, confidence="p_true", threshold=threshold)
        critique = critic.critique(task, "7 + 5 = 12.\nAnswer: 12", iteration=0)
        assert critique.confidence_source == "p_true" and critique.parsed
        assert critique.verdict == ("correct" if threshold == 0.0 else "incorrect")
    line = json.loads((tmp_path / "completions.jsonl").read_text().splitlines()[-1])
    recorded = Completion.model_validate(line["completion"])
    assert critique.confidence == pytest.approx(p_true_from(recorded.logprobs))
    assert critique.p_correct == critique.confidence


def test_confidence_above_stops_on_the_probability_of_being_right():
    from looplab.graphs import ConfidenceAbove
    from looplab.records import Critique

    def state(**critique):
        return {"critiques": [Critique(iteration=0, **critique)]}

    policy = ConfidenceAbove(0.8)
    assert policy.reason(state(verdict="correct", confidence=0.9), None) == "confident"
    # a verbal critic's 0.9 in "incorrect" is 0.1 that the answer is right
    assert policy.reason(state(verdict="incorrect", confidence=0.9), None) is None
    p_true = dict(verdict="incorrect", confidence=0.85, confidence_source="p_true")
    assert policy.reason(state(**p_true), None) == "confident"
    assert policy.reason(state(verdict=None), None) is None
    assert policy.reason({"critiques": []}, None) is None


def test_calibration_scores_tasks_concurrently_with_the_same_records(tmp_path):
    """Against a server, tasks are scored several at once; the records, put back in the
    tasks' order, are those of scoring one task at a time."""
    from looplab.studies import CalibrationOptions, calibration_tables, run_calibration
    from tests.helpers.delay_server import DelayServer

    server = DelayServer(delay_s=0.05)
    try:
        model = f"openai:fake@{server.base_url}"
        one = CalibrationOptions(model=model, limit=6, samples=2, concurrency=1)
        serial, _ = run_calibration(one, tmp_path / "serial")
        assert server.max_in_flight == 1
        many = CalibrationOptions(model=model, limit=6, samples=2, concurrency=4)
        parallel, _ = run_calibration(many, tmp_path / "parallel")
        assert server.max_in_flight > 1
    finally:
        server.close()
    assert [r["task"] for r in parallel] == [r["task"] for r in serial]
    assert parallel == serial
    # every source scored something: P(True) and the log-probabilities came from the server
    for row in calibration_tables(parallel):
        assert row.metrics.n > 0, row.source


def test_the_metrics_keep_the_risk_coverage_curve_thinned_for_reports():
    rng = random.Random(5)
    few = [round(rng.random(), 1) for _ in range(30)]
    right = [rng.random() < 0.5 for _ in range(30)]
    assert confidence_metrics(few, right, resamples=10).curve == risk_coverage(few, right)
    many = [rng.random() for _ in range(5000)]
    right = [rng.random() < c for c in many]
    full = risk_coverage(many, right)
    curve = confidence_metrics(many, right, resamples=10).curve
    assert len(full) == 5000 and len(curve) == 200
    assert curve[0] == full[0] and curve[-1] == full[-1] and set(curve) <= set(full)
