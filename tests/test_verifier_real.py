"""Learned verifiers on the real embedded model: its hidden states, the verifier study
end to end, cross-fitting inside a real run, and the held-out AUROC against sklearn's."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from looplab.agents import Candidate, candidate_features, load_verifier
from looplab.errors import ConfigError
from looplab.llm import CompletionOptions, LlamaCppModel, Message, RecordingModel, ReplayModel
from looplab.metrics import compute_metrics
from looplab.runs import read_results
from looplab.steps import drive
from looplab.verifiers import fit_verifier, training_examples
from tests.helpers.cli import cli

pytestmark = pytest.mark.slow

ALL = ("hidden", "answer_logprob", "length", "agreement")


def test_hidden_state_of_the_embedded_model(tmp_path) -> None:
    model = LlamaCppModel()
    asked = Message(role="user", content="What is 2 + 3?")
    messages = [asked, Message(role="assistant", content="2 + 3 = 5.\nAnswer: 5")]
    vector, usage = model.hidden_state(messages)
    again, _ = model.hidden_state(messages)
    other, _ = model.hidden_state([asked, Message(role="assistant", content="Answer: 6")])
    assert len(vector) == 576 and vector == again and vector != other
    prompt = model.render_prompt(messages)
    assert usage.prompt_tokens == len(model.llama.tokenize(prompt.encode(), special=True))
    assert usage.completion_tokens == 0 and usage.calls == 1
    # a recording model shows the wrapped model's; a replay has none to show
    recording = RecordingModel(model, tmp_path / "completions.jsonl")
    assert recording.hidden_state(messages)[0] == vector
    recording.complete([asked], CompletionOptions(max_tokens=4))
    candidate = Candidate(prompt=asked.content, text="Answer: 5", answer="5")
    with pytest.raises(ConfigError, match="needs a model that exposes them"):
        drive(candidate_features(candidate, ["hidden"], ReplayModel(tmp_path)))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("verifier") / "study"
    done = cli("study", "verifier", "--limit", "12", "--samples", "3", "--run-dir", str(root))
    assert done.returncode == 0, done.stderr[-3000:]
    return root, done.stdout


def test_the_verifier_study_end_to_end(study) -> None:
    root, stdout = study
    for title in (
        "telling right from wrong on the test half: the same",
        "telling right from wrong on the test half: every answer each source could score",
        "picking one of the samples",
        "verifier-ranked best_of_n against self-consistency, paired by task",
    ):
        assert title in stdout
    summary = json.loads((root / "study.json").read_text())
    sources = [row[0] for row in summary["tables"][0]["rows"]]
    assert sources == [
        "verbal", "p_true", "answer_logprob", "self_consistency",
        "learned", "learned_hidden", "learned_cheap",
    ]  # fmt: skip
    hidden = load_verifier(root / "verifier-hidden.json")
    assert hidden.features == ["hidden"] and len(hidden.columns) == 576
    # the halves share no task
    train = {json.loads(line)["prompt"] for line in (root / "train.jsonl").open()}
    test = {json.loads(line)["prompt"] for line in (root / "test.jsonl").open()}
    assert len(train) == len(test) == 12 and not train & test
    assert "drew the same samples as the test run on 36 of 36" in stdout
    # run again: everything is resumed, nothing redone, the same tables
    again = cli("study", "verifier", "--limit", "12", "--samples", "3", "--run-dir", str(root))
    assert again.returncode == 0 and again.stdout == stdout


def test_learned_auroc_on_the_held_out_half_is_sklearns(study) -> None:
    root, _ = study
    verifier = load_verifier(root / "verifier.json")
    results = [r for r in read_results(root / "test-verifier") if r.error is None]
    critiques = [c for r in results for c in r.trajectory.critiques]
    assert all("not one" in c.raw for c in critiques)  # tasks it never saw: the full probe
    confidences = [c.confidence for c in critiques]
    grades = [g for r in results for g in r.grades]
    metrics = compute_metrics(results)
    assert metrics.critic.by_source["learned"].auroc.value == pytest.approx(
        roc_auc_score(grades, confidences), abs=1e-12
    )
    # an independent sklearn fit on the training half's features, at the verifier's C,
    # scores the held-out answers as the run's critic did
    train = training_examples([root / "train"], ALL)
    test = training_examples([root / "test-verifier"], ALL)
    assert test.right.tolist() == grades
    theirs = (
        make_pipeline(StandardScaler(), LogisticRegression(C=verifier.probe.C, max_iter=10_000))
        .fit(train.rows, train.right)
        .predict_proba(test.rows)[:, 1]
    )
    assert np.allclose(confidences, theirs, atol=1e-3)


def test_a_run_on_the_training_tasks_is_scored_by_cross_fitted_probes(study, tmp_path) -> None:
    root, _ = study
    run = tmp_path / "again"
    done = cli(
        "eval", "--tasks", f"jsonl:{root / 'train.jsonl'}", "--graph", "best_of_n",
        "--max-iters", "3", "--temperature", "0.7", "--max-tokens", "96",
        "--critic-confidence", f"learned:{root / 'verifier.json'}", "--run-dir", str(run),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    fitted = fit_verifier(training_examples([root / "train"], ALL))
    by_task = {r.task_id: r for r in read_results(run)}
    trained = {r.task_id: r for r in read_results(root / "train")}
    scores = []
    for task_id, result in trained.items():
        # the same seeds drew the same samples as the run the verifier learned from ...
        again = by_task[task_id].trajectory
        assert [a.text for a in again.attempts] == [a.text for a in result.trajectory.attempts]
        # ... and each was scored by the probe of the fold that held its task out
        assert all("trained without this task" in c.raw for c in again.critiques)
        scores += [c.confidence for c in again.critiques]
    assert np.allclose(scores, fitted.heldout, atol=1e-9)
    # resuming the run with another verifier is refused
    changed = tmp_path / "changed.json"
    verifier = load_verifier(root / "verifier.json")
    changed.write_text(verifier.model_copy(update={"version": 1}).model_dump_json(indent=2))
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["config"]["critic_confidence"] = f"learned:{changed}"
    (run / "manifest.json").write_text(json.dumps(manifest))
    refused = cli("eval", "--resume", str(run))
    assert refused.returncode == 2
    assert "is not the one that made this run" in refused.stderr
    assert "Traceback" not in refused.stderr
