"""Critics whose confidence comes from sampled answers: P(True) with the samples shown
(``p_true_samples``) and the samples' agreement (``self_consistency``), on scripted
models (each number by hand), through a run on a server, and on the embedded model."""

from __future__ import annotations

import math

import pytest

from looplab.agents import Critic
from looplab.agents._critic import SAMPLE_TEMPERATURE
from looplab.evals import EvalConfig, compute_metrics, read_results, run_eval
from looplab.llm import Completion, CompletionOptions, TokenLogprob
from looplab.prompts import solve_messages
from looplab.records import TaskView, Usage
from tests.helpers.delay_server import DelayServer
from tests.helpers.scripted import ScriptedModel

TASK = TaskView(id="t", prompt="What is 7 + 5?", family="arithmetic")
JUDGED = "7 + 5 = 12.\nAnswer: 12"


def test_self_consistency_is_the_share_of_sampled_answers_that_agree():
    samples = ["Answer: 12", "so 12.0\nAnswer: 12.0", "Answer: 11", "no answer here", "Answer: 12"]
    for threshold, verdict in ((0.5, "correct"), (0.7, "incorrect")):
        model = ScriptedModel(samples)
        critic = Critic(
            model,
            confidence="self_consistency",
            threshold=threshold,
            options=CompletionOptions(max_tokens=64, seed=40),
        )
        critique = critic.critique(TASK, JUDGED, iteration=2)
        assert critique.confidence == pytest.approx(3 / 5)  # 12, 12.0 and 12 agree
        assert critique.verdict == verdict and critique.parsed
        assert critique.confidence_source == "self_consistency" and critique.iteration == 2
        assert critique.feedback.startswith("3 of 5 independent answers agree with yours.")
        assert critique.usage.calls == 5
        assert "samples: 12, 12.0, 11, None, 12" in critique.raw
    # each sample is the task as the generator is asked it, at temperature 1, seeded apart
    for i, (messages, options) in enumerate(model.requests):
        assert messages == solve_messages(TASK)
        assert options.temperature == SAMPLE_TEMPERATURE and options.seed == 40 + i


def test_self_consistency_without_an_answer_to_judge_is_unparsed():
    critic = Critic(ScriptedModel(["Answer: 12"] * 2), confidence="self_consistency", samples=2)
    critique = critic.critique(TASK, "I am not sure.", iteration=0)
    assert critique.verdict is None and not critique.parsed and critique.confidence is None


def test_p_true_samples_shows_the_samples_then_reads_p_true():
    top = (("A", math.log(0.6)), (" (A", math.log(0.1)), ("B", math.log(0.2)))
    p_true_reply = Completion(
        text="A)",
        finish_reason="length",
        logprobs=[TokenLogprob(token="A", logprob=math.log(0.6), top=top)],
        usage=Usage(prompt_tokens=80, completion_tokens=2, calls=1),
        model="scripted",
    )
    model = ScriptedModel(["Answer: 12", "Answer: 13", p_true_reply])
    critic = Critic(model, confidence="p_true_samples", samples=2, threshold=0.5)
    critique = critic.critique(TASK, JUDGED, iteration=0)
    assert critique.confidence == pytest.approx(0.7 / 0.9)  # True-option mass over both
    assert critique.verdict == "correct" and critique.confidence_source == "p_true_samples"
    assert critique.usage.calls == 3
    question = model.requests[-1][0][0].content
    assert "brainstormed" in question and "- 12" in question and "- 13" in question
    assert model.requests[-1][1].logprobs  # P(True) is read from log-probabilities


def test_a_critic_needs_one_sample_at_least():
    with pytest.raises(ValueError, match="at least 1"):
        Critic(ScriptedModel([]), confidence="self_consistency", samples=0)


def test_a_run_records_the_source_and_the_report_judges_it(tmp_path):
    server = DelayServer()
    try:
        config = EvalConfig(
            tasks="arithmetic:n=4",
            model=f"openai:fake@{server.base_url}",
            graph="critic_loop",
            critic_confidence="self_consistency",
        )
        results = read_results(run_eval(config, tmp_path / "run"))
    finally:
        server.close()
    critiques = [c for r in results for c in r.trajectory.critiques]
    assert critiques and {c.confidence_source for c in critiques} == {"self_consistency"}
    # the fake server answers a request by its text: every sample agrees with the answer
    assert all(c.confidence == 1.0 and c.verdict == "correct" for c in critiques)
    assert "self_consistency" in compute_metrics(results).critic.by_source


@pytest.mark.slow
@pytest.mark.parametrize("source", ["self_consistency", "p_true_samples"])
def test_sampling_critics_on_the_embedded_model(embedded_model, source):
    critic = Critic(embedded_model, confidence=source, samples=3)
    critique = critic.critique(TASK, JUDGED, iteration=0)
    assert critique.confidence_source == source
    assert critique.usage.calls == 3 + (source == "p_true_samples")
    if critique.parsed:
        assert 0.0 <= critique.confidence <= 1.0
        assert critique.verdict == ("correct" if critique.confidence >= 0.5 else "incorrect")
    else:
        assert critique.verdict is None
