"""Learned verifiers: cross-fitting by task, agreement with scikit-learn, the files, the
learned critic source and its command. The real model's hidden states and the study
are in test_verifier_real.py."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from looplab.agents import Candidate, Critic, Generator, candidate_features, load_verifier, task_key
from looplab.cli import app
from looplab.errors import ConfigError
from looplab.graphs import LoopSetup, best_of_n, run_loop
from looplab.metrics import confidence_metrics
from looplab.records import Attempt, TaskResult, TaskView, Trajectory, Usage
from looplab.runs import LoopConfig, RunStore, check_loop_config, read_results
from looplab.steps import drive
from looplab.verifiers import Examples, fit_verifier, fold_of_task, training_examples
from tests.helpers.scripted import ScriptedModel

CHEAP = ("answer_logprob", "length", "agreement")


def _prompt(t: int) -> str:
    return f"What is {t} + {t % 7}?"


def _examples(tasks: int = 40, per: int = 3, seed: int = 0) -> Examples:
    """Answers whose first column carries the signal, three per task."""
    rng = np.random.default_rng(seed)
    n = tasks * per
    rows = rng.normal(size=(n, 5))
    right = rows[:, 0] + rng.normal(size=n) > 0
    keys = [task_key(_prompt(i // per)) for i in range(n)]
    return Examples(("length",), tuple(f"c{i}" for i in range(5)), rows, right, keys, "")


def test_a_tasks_own_grades_never_reach_the_probe_that_scores_it() -> None:
    examples = _examples()
    fitted = fit_verifier(examples)
    keys = np.asarray(examples.tasks)
    for target in sorted(set(examples.tasks))[:6]:
        own = keys == target
        flipped = examples.right.copy()
        flipped[own] = ~flipped[own]
        refit = fit_verifier(replace(examples, right=flipped))
        # its held-out scores do not move when its own labels do: no probe that scored
        # it saw them ...
        assert np.array_equal(refit.heldout[own], fitted.heldout[own])
        # ... while the probe fit on every task did (the check can fail)
        assert refit.verifier.probe.coef != fitted.verifier.probe.coef


def test_training_tasks_get_their_folds_probe_and_new_tasks_the_full_one() -> None:
    examples = _examples()
    fitted = fit_verifier(examples)
    verifier = fitted.verifier
    for i, row in enumerate(examples.rows):
        probe, which = verifier.probe_for(_prompt(i // 3))
        assert verifier.fold_of[examples.tasks[i]] == fold_of_task(examples.tasks[i], 5)
        assert "trained without this task" in which
        assert probe.probability(row) == pytest.approx(fitted.heldout[i], abs=1e-12)
    probe, which = verifier.probe_for("a task it never saw")
    assert probe is verifier.probe and "not one" in which


def test_held_out_auroc_and_probabilities_are_sklearns() -> None:
    examples = _examples()
    fitted = fit_verifier(examples)
    held = fitted.verifier.heldout
    assert held.auroc == pytest.approx(roc_auc_score(examples.right, fitted.heldout), abs=1e-12)
    assert held.low < held.auroc < held.high
    assert (held.attempts, held.tasks, held.right) == (120, 40, int(examples.right.sum()))
    # trained on one split, scoring another: the stored probe is sklearn's pipeline
    test = _examples(tasks=30, seed=1)
    probe = fitted.verifier.probe
    ours = np.array([probe.probability(row) for row in test.rows])
    theirs = (
        make_pipeline(StandardScaler(), LogisticRegression(C=probe.C, max_iter=10_000))
        .fit(examples.rows, examples.right)
        .predict_proba(test.rows)[:, 1]
    )
    # an independent fit at the same C: the same optimum to the solver's tolerance (the
    # probe is the fitted pipeline itself exactly: the test above)
    assert np.allclose(ours, theirs, atol=1e-3)
    units = [i // 3 for i in range(len(ours))]
    auroc = confidence_metrics(ours.tolist(), test.right.tolist(), units=units).auroc.value
    assert auroc == pytest.approx(roc_auc_score(test.right, ours), abs=1e-12)


def test_too_few_tasks_or_one_kind_of_answer_is_a_clear_error() -> None:
    examples = _examples(tasks=4)
    with pytest.raises(ConfigError, match="needs 5 tasks at least"):
        fit_verifier(examples)
    examples = _examples()
    with pytest.raises(ConfigError, match="right and wrong answers"):
        fit_verifier(replace(examples, right=np.ones_like(examples.right)))


# -- runs on disk ------------------------------------------------------------------------


def _attempt(i: int, answer: str | None, probability: float | None) -> Attempt:
    return Attempt(
        iteration=i,
        kind="sample",
        text=f"Some working.\nAnswer: {answer}",
        answer=answer,
        answer_probability=probability,
    )


def _run(tmp_path, name: str, tasks: int = 30, seed: int = 0):
    """A best_of_n-shaped run on disk: three samples per task, the right one more
    probable and more often repeated."""
    rng = np.random.default_rng(seed)
    path = tmp_path / f"{name}.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"t{t}", "prompt": _prompt(t), "family": "arithmetic",
                        "answer": str(t + t % 7)}) + "\n"
            for t in range(tasks)
        )
    )  # fmt: skip
    store = RunStore(tmp_path / name)
    store.create({"tasks": f"jsonl:{path}", "graph": "best_of_n"}, task_count=tasks)
    for t in range(tasks):
        truth = t + t % 7
        answers = [str(truth if rng.random() < 0.5 else truth + 1) for _ in range(3)]
        grades = [a == str(truth) for a in answers]
        probabilities = [
            None if i == 2 else float(np.clip(0.6 * g + 0.4 * rng.random(), 0, 1))
            for i, g in enumerate(grades)
        ]
        attempts = [
            _attempt(i, a, p) for i, (a, p) in enumerate(zip(answers, probabilities, strict=True))
        ]
        trajectory = Trajectory(task_id=f"t{t}", graph="best_of_n", attempts=attempts, chosen=0)
        store.append(TaskResult(task_id=f"t{t}", trajectory=trajectory, grades=grades))
    store.append(TaskResult(task_id="t0", sample=1, error="a backend failed"))
    store.close()
    return tmp_path / name


def test_training_examples_are_the_runs_graded_attempts(tmp_path) -> None:
    run = _run(tmp_path, "a")
    examples = training_examples([run], CHEAP)
    assert examples.columns == (
        "answer_logprob", "answer_logprob missing", "length", "agreement", "agreement missing"
    )  # fmt: skip
    assert examples.rows.shape == (90, 5) and examples.model == ""
    results = {r.task_id: r for r in read_results(run) if r.error is None}
    first = results["t0"]
    answers = [a.answer for a in first.trajectory.attempts]
    assert list(examples.right[:3]) == first.grades
    assert examples.rows[0, 3] == sum(a == answers[0] for a in answers[1:]) / 2
    assert examples.rows[2, :2].tolist() == [0.0, 1.0]  # no probability: said so
    assert examples.tasks[0] == task_key(_prompt(0))
    assert examples.runs[0].attempts == 90 and examples.runs[0].tasks == 30
    # the held-out AUROC among answers with an answer extracted, as sklearn computes it
    assert examples.answered.tolist() == [True] * 90
    fitted = fit_verifier(replace(examples, answered=np.arange(90) % 3 != 1))
    held, kept = fitted.verifier.heldout, np.arange(90) % 3 != 1
    assert held.answered == 60
    assert held.answered_auroc == pytest.approx(
        roc_auc_score(examples.right[kept], fitted.heldout[kept]), abs=1e-12
    )
    # fewer features: their columns, nothing computed again
    fewer = examples.only(["length", "agreement"])
    assert fewer.columns == ("length", "agreement", "agreement missing")
    assert np.array_equal(fewer.rows, examples.rows[:, 2:]) and fewer.tasks == examples.tasks
    with pytest.raises(ConfigError, match="hold no hidden feature"):
        examples.only(["hidden"])


def test_verifier_command_trains_shows_and_lists(tmp_path) -> None:
    run = _run(tmp_path, "a")
    out = tmp_path / "v.json"
    runner = CliRunner()
    result = runner.invoke(
        app, ["verifier", "train", str(run), "--out", str(out), "--features", ",".join(CHEAP)]
    )
    assert result.exit_code == 0, result.output
    assert "held-out AUROC" in result.output and str(out) in result.output
    verifier = load_verifier(out)
    assert verifier.features == list(CHEAP) and verifier.training[0].path == str(run)
    # the features are recorded beside it, every answer with where it came from
    recorded = np.load(tmp_path / "v.features.npz")
    assert recorded["rows"].shape == (90, 5) and str(recorded["columns"][0]) == "answer_logprob"
    assert json.loads(recorded["where"][0]) == [str(run), "t0", 0, 0]
    assert recorded["right"].sum() == verifier.heldout.right
    assert len(verifier.fold_of) == 30 and verifier.heldout.auroc > 0.5
    shown = runner.invoke(app, ["verifier", "show", str(out)])
    assert shown.exit_code == 0 and "held-out AUROC" in shown.output
    listed = runner.invoke(app, ["verifier", "features"])
    assert all(name in listed.output for name in ("hidden", *CHEAP))
    bad = runner.invoke(app, ["verifier", "train", str(run), "--out", str(out), "--features", "x"])
    assert bad.exit_code == 2
    assert "unknown verifier feature 'x': use one of hidden, answer_logprob" in bad.output
    assert "Traceback" not in bad.output
    nothing = runner.invoke(app, ["verifier", "train", str(tmp_path), "--out", str(out)])
    assert nothing.exit_code == 2 and "is not a run directory" in nothing.output


def test_unreadable_verifiers_and_sources_are_one_line_errors(tmp_path) -> None:
    with pytest.raises(ConfigError, match="cannot read verifier"):
        load_verifier(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"features": ["length"]}')
    with pytest.raises(ConfigError, match="is not a looplab verifier"):
        load_verifier(tmp_path / "bad.json")
    fitted = fit_verifier(_examples())
    damaged = fitted.verifier.model_copy(update={"columns": ["c0"]})
    (tmp_path / "damaged.json").write_text(damaged.model_dump_json())
    with pytest.raises(ConfigError, match="sizes disagree"):
        load_verifier(tmp_path / "damaged.json")
    text = fitted.verifier.model_dump_json().replace('"intercept":', '"intercept":NaN,"x":', 1)
    (tmp_path / "nan.json").write_text(text)
    with pytest.raises(ConfigError, match="not a finite number"):
        load_verifier(tmp_path / "nan.json")
    for value, said in [
        ("learned", "use one of verbal, p_true"),
        ("learned:", "learned:FILE"),
        ("psychic", "unknown critic confidence 'psychic'"),
        (f"learned:{tmp_path / 'missing.json'}", "cannot read verifier"),
    ]:
        with pytest.raises(ConfigError, match=said):
            check_loop_config(LoopConfig(critic_confidence=value))


def test_a_verifier_on_one_models_hidden_states_refuses_another(tmp_path) -> None:
    fitted = fit_verifier(_examples())
    verifier = fitted.verifier.model_copy(
        update={"features": ["hidden"], "model": "llama.cpp:SmolLM2-135M-Instruct.Q4_1"}
    )
    with pytest.raises(ConfigError, match=r"reads llama\.cpp:SmolLM2-135M-Instruct\.Q4_1's hidden"):
        Critic(ScriptedModel([]), confidence="learned", verifier=verifier)
    candidate = Candidate(prompt="p", text="t", answer="1")
    with pytest.raises(ConfigError, match="needs a model that exposes them"):
        drive(candidate_features(candidate, ["hidden"], ScriptedModel([])))


def test_best_of_n_ranks_samples_by_the_learned_verifier(tmp_path) -> None:
    verifier = fit_verifier(training_examples([_run(tmp_path, "a")], CHEAP)).verifier
    model = ScriptedModel(["Answer: 5", "Answer: 7", "Answer: 5"])
    setup = LoopSetup(
        generator=Generator(model),
        critic=Critic(model, confidence="learned", verifier=verifier),
        max_iters=3,
    )
    task = TaskView(id="new", prompt="What is 2 + 3?", family="arithmetic")
    trajectory = run_loop(best_of_n(setup), task)
    answers = [a.answer for a in trajectory.attempts]
    assert answers == ["5", "7", "5"]
    expected = []
    for i, attempt in enumerate(trajectory.attempts):
        # each sample judged with the other samples' answers: its agreement feature
        others = tuple(a for j, a in enumerate(answers) if j != i)
        candidate = Candidate(task.prompt, attempt.text, attempt.answer, None, others)
        value, which, _ = drive(verifier.score(candidate, model))
        assert "not one" in which  # a task it never saw: the probe fit on all of them
        expected.append(value)
    confidences = [c.confidence for c in trajectory.critiques]
    assert confidences == pytest.approx(expected, abs=1e-12)
    assert {c.confidence_source for c in trajectory.critiques} == {"learned"}
    assert trajectory.chosen == max(range(3), key=lambda i: (expected[i], -i))
    assert len(model.script) == 0  # no critic call: the cheap features need none


def test_the_verifier_study_refuses_what_cannot_work_before_making_anything(tmp_path) -> None:
    from looplab.studies import VerifierStudyOptions, run_verifier_study, split_tasks

    def never(*args) -> None:
        raise AssertionError("no arm runs")

    server = VerifierStudyOptions(model="openai:m@http://127.0.0.1:9/v1")
    with pytest.raises(ConfigError, match="reads the model's hidden states"):
        run_verifier_study(server, tmp_path / "a", run_arm=never)
    with pytest.raises(ConfigError, match="needs --limit 10 at least"):
        run_verifier_study(VerifierStudyOptions(limit=3), tmp_path / "b", run_arm=never)
    assert list(tmp_path.iterdir()) == []
    # the halves: split by the prompt's hash, no task in both
    train, test = split_tasks(1000)
    assert len(train) + len(test) == 117 and not {t.prompt for t in train} & {
        t.prompt for t in test
    }


def test_the_verifier_study_counts_a_failed_task_wrong(tmp_path) -> None:
    from looplab.studies import verifier_tables

    fitted = fit_verifier(_examples())

    def result(task: str, answers: list[str], grades: list[bool]) -> TaskResult:
        attempts = [
            _attempt(i, a, 0.5).model_copy(update={"usage": Usage(completion_tokens=10)})
            for i, a in enumerate(answers)
        ]
        trajectory = Trajectory(task_id=task, graph="best_of_n", attempts=attempts, chosen=0)
        return TaskResult(task_id=task, trajectory=trajectory, grades=grades)

    # three tasks: t1 failed in the verifier-ranked arm, t2 failed in both
    test = {t: result(t, ["4", "4", "4", "4"], [True] * 4) for t in ("t0", "t1")}
    ranked = {"t0": result("t0", ["4", "4"], [True, True])}
    sources = ("verbal", "p_true", "answer_logprob", "self_consistency", "learned",
               "learned_hidden", "learned_cheap")  # fmt: skip
    scores = [{"confidences": dict.fromkeys(sources, 0.9), "tokens": {}}] * 2
    records = [{"task": t, "correct": [True, True], "scores": scores} for t in ("t0", "t1")]
    tables = verifier_tables(records, test, ranked, fitted.verifier, 2, ["t0", "t1", "t2"])
    picking = {row[0]: row[2] for row in tables[2].rows}
    assert picking["self_consistency@2"].startswith("66.7%")  # t2 counted wrong
    assert picking["best_of_n@2, verifier-ranked"].startswith("33.3%")  # t1, t2 wrong
    assert "failed tasks, counted wrong: 1 in test, 2 in test-verifier" in tables[-1].lines
