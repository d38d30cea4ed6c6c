"""Critics whose confidence comes from sampled answers: P(True) with the samples shown
(``p_true_samples``) and the samples' agreement (``self_consistency``), on scripted
models (each number by hand), through a run on a server, and on the embedded model."""

from __future__ import annotations

import math

import pytest

from looplab.agents import SAMPLE_TEMPERATURE, Critic
from looplab.llm import Completion, CompletionOptions, TokenLogprob
from looplab.metrics import compute_metrics
from looplab.prompts import solve_messages
from looplab.records import TaskView, Usage
from looplab.runs import EvalConfig, read_results, run_eval
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


def _answer_with_logprobs(text: str, per_token: dict[str, float]) -> Completion:
    """A completion whose tokens are its words and spaces, each with the given log-prob
    (-0.05 when not listed)."""
    import re

    tokens = re.findall(r"\S+|\s+", text)
    return Completion(
        text=text,
        finish_reason="stop",
        logprobs=[TokenLogprob(token=t, logprob=per_token.get(t, -0.05)) for t in tokens],
        usage=Usage(prompt_tokens=10, completion_tokens=len(tokens), calls=1),
        model="scripted",
    )


def test_answer_logprob_critic_reads_the_attempts_own_answer_probability():
    from looplab.agents import Generator
    from looplab.graphs import LoopSetup, critic_loop, run_loop
    from looplab.records import Task

    task = Task(id="t", prompt="What is 7 + 5?", family="arithmetic", answer="12")
    first = _answer_with_logprobs("7 + 5 = 13.\nAnswer: 13", {"13": math.log(0.3)})
    second = _answer_with_logprobs("7 + 5 = 12.\nAnswer: 12", {"12": math.log(0.8)})
    generator = ScriptedModel([first, second])
    critic_model = ScriptedModel([])  # never called: the probability is the attempt's
    setup = LoopSetup(
        generator=Generator(generator, options=CompletionOptions(max_tokens=32, logprobs=0)),
        critic=Critic(critic_model, confidence="answer_logprob", threshold=0.5),
        max_iters=3,
    )
    trajectory = run_loop(critic_loop(setup), task)
    # "Answer: 13" ends in the token "13": its probability alone is the answer's
    assert [a.answer_probability for a in trajectory.attempts] == [
        pytest.approx(0.3),
        pytest.approx(0.8),
    ]
    assert [c.verdict for c in trajectory.critiques] == ["incorrect", "correct"]
    assert [c.confidence for c in trajectory.critiques] == [pytest.approx(0.3), pytest.approx(0.8)]
    assert {c.confidence_source for c in trajectory.critiques} == {"answer_logprob"}
    assert critic_model.requests == [] and trajectory.critiques[0].usage.calls == 0
    assert trajectory.attempts[-1].answer == "12" and trajectory.stop_reason == "critic_correct"


def test_answer_logprob_without_log_probabilities_is_unparsed():
    critic = Critic(ScriptedModel([]), confidence="answer_logprob")
    critique = critic.critique(TASK, JUDGED, iteration=0)  # no probability given
    assert critique.verdict is None and not critique.parsed


def test_a_run_with_answer_logprob_asks_the_generator_for_log_probabilities(tmp_path):
    server = DelayServer()
    try:
        config = EvalConfig(
            tasks="arithmetic:n=3",
            model=f"openai:fake@{server.base_url}",
            graph="critic_loop",
            critic_confidence="answer_logprob",
        )
        results = read_results(run_eval(config, tmp_path / "run"))
    finally:
        server.close()
    attempts = [a for r in results for a in r.trajectory.attempts]
    # the fake server gives every token log-probability -0.1
    assert all(a.answer_probability == pytest.approx(math.exp(-0.1)) for a in attempts)
    critiques = [c for r in results for c in r.trajectory.critiques]
    assert critiques and all(c.verdict == "correct" for c in critiques)
    assert {c.confidence_source for c in critiques} == {"answer_logprob"}
    # the probability is never written with the generation's completion
    line = (tmp_path / "run" / "trajectories.jsonl").read_text().splitlines()[0]
    assert "final_completion" not in line and '"answer_probability":0.9' in line


@pytest.mark.slow
def test_answer_logprob_on_the_embedded_model(embedded_model):
    from looplab.agents import Generator
    from looplab.graphs import LoopSetup, critic_loop, run_loop
    from looplab.records import Task

    options = CompletionOptions(max_tokens=48, logprobs=0)
    setup = LoopSetup(
        generator=Generator(embedded_model, options=options),
        critic=Critic(embedded_model, confidence="answer_logprob"),
        max_iters=2,
    )
    task = Task(id="t", prompt="What is 7 + 5?", family="arithmetic", answer="12")
    trajectory = run_loop(critic_loop(setup), task)
    first, judged = trajectory.attempts[0], trajectory.critiques[0]
    assert first.answer is not None, first.text  # the worked example sets the answer line
    assert 0.0 < first.answer_probability <= 1.0
    assert judged.confidence == first.answer_probability
    assert judged.confidence_source == "answer_logprob" and judged.usage.calls == 0
