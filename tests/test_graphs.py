"""Critique-loop graphs on scripted models: routing, stop policies, records, resume."""

from __future__ import annotations

import json

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from looplab.agents import Critic, Generator
from looplab.errors import ConfigError
from looplab.graphs import (
    AnswerUnchanged,
    AnyOf,
    CostBudget,
    CriticSaysCorrect,
    CritiqueEvent,
    DecisionEvent,
    LoopSetup,
    MaxIterations,
    Oracle,
    TextEvent,
    TokenBudget,
    best_of_n,
    critic_loop,
    initial_state,
    load_graph_factory,
    run_loop,
    self_refine,
    stream_loop,
    test_repair,
    tool_critic,
)
from looplab.records import Task
from looplab.sandbox import ProcessSandbox
from tests.helpers.scripted import ScriptedModel

TASK = Task(id="t1", prompt="What is 2+3?", family="arithmetic", answer="5")


def verdict(v: str, confidence: float = 0.9, feedback: str = "ok") -> str:
    return json.dumps({"verdict": v, "confidence": confidence, "feedback": feedback})


def setup_for(
    generator_script, critic_script, **kwargs
) -> tuple[LoopSetup, ScriptedModel, ScriptedModel]:
    gen_model = ScriptedModel(generator_script, name="gen")
    critic_model = ScriptedModel(critic_script, name="critic")
    setup = LoopSetup(generator=Generator(gen_model), critic=Critic(critic_model), **kwargs)
    return setup, gen_model, critic_model


def test_critic_loop_repairs_until_the_critic_agrees():
    setup, gen, _ = setup_for(
        ["2+3 is 6.\nAnswer: 6", "2+3 is 5.\nAnswer: 5"],
        [verdict("incorrect", 0.8, "2+3 is not 6"), verdict("correct", 0.9)],
    )
    trajectory = run_loop(critic_loop(setup), TASK)
    assert [a.answer for a in trajectory.attempts] == ["6", "5"]
    assert [a.kind for a in trajectory.attempts] == ["initial", "repair"]
    assert [c.verdict for c in trajectory.critiques] == ["incorrect", "correct"]
    assert trajectory.stop_reason == "critic_correct" and not trajectory.oracle
    assert trajectory.models == {"generator": "gen", "critic": "critic"}
    # the repair saw its previous attempt and the feedback
    repair_messages = gen.requests[1][0]
    assert repair_messages[-2].content == "2+3 is 6.\nAnswer: 6"
    assert "2+3 is not 6" in repair_messages[-1].content


def test_ground_truth_never_reaches_the_loop():
    setup, gen, critic = setup_for(["Answer: 6"] * 3, [verdict("incorrect")] * 3)
    secret = Task(id="s", prompt="What is 2+3?", answer="SECRET-5", hidden_tests="SECRET-T")
    assert "answer" not in initial_state(secret)["task"].model_dump()
    run_loop(critic_loop(setup), secret)
    sent = json.dumps(
        [[m.model_dump() for m in msgs] for msgs, _ in gen.requests + critic.requests]
    )
    assert "SECRET" not in sent


def test_max_iterations_is_a_hard_cap_whatever_the_policy():
    never = AnyOf()  # a policy that never stops
    setup, gen, _ = setup_for(
        ["Answer: 6"] * 10, [verdict("incorrect")] * 10, max_iters=3, stop=never
    )
    trajectory = run_loop(critic_loop(setup), TASK)
    assert len(trajectory.attempts) == 3 and trajectory.stop_reason == "max_iterations"
    assert len(gen.requests) == 3


def test_confidence_threshold():
    setup, _, _ = setup_for(
        ["Answer: 6", "Answer: 5"],
        [verdict("correct", 0.3), verdict("correct", 0.95)],
        stop=AnyOf(CriticSaysCorrect(threshold=0.9), MaxIterations(5)),
    )
    trajectory = run_loop(critic_loop(setup), TASK)
    assert len(trajectory.attempts) == 2 and trajectory.stop_reason == "critic_correct"


def test_answer_unchanged_stops_the_loop():
    setup, _, _ = setup_for(
        ["Answer: 7", "Answer: 6", "Answer: 6", "Answer: 9"],
        [verdict("incorrect")] * 4,
        stop=AnyOf(AnswerUnchanged(), MaxIterations(5)),
        max_iters=5,
    )
    trajectory = run_loop(critic_loop(setup), TASK)
    assert [a.answer for a in trajectory.attempts] == ["7", "6", "6"]
    assert trajectory.stop_reason == "answer_unchanged"


def test_token_budget_and_hard_token_cap():
    setup, _, _ = setup_for(
        ["Answer: 6"] * 5, [verdict("incorrect")] * 5, max_iters=5, stop=TokenBudget(45)
    )
    trajectory = run_loop(critic_loop(setup), TASK)
    assert trajectory.stop_reason == "token_budget"
    assert trajectory.usage.total_tokens >= 45
    assert len(trajectory.attempts) < 5
    capped, _, _ = setup_for(
        ["Answer: 6"] * 5,
        [verdict("incorrect")] * 5,
        max_iters=5,
        stop=AnyOf(),
        max_total_tokens=45,
    )
    assert run_loop(critic_loop(capped), TASK).stop_reason == "token_cap"


def test_cost_budget_uses_prices_and_refuses_unknown_models():
    prices = {"gen": (1_000_000.0, 1_000_000.0), "critic": (0.0, 0.0)}  # $1 per token
    setup, _, _ = setup_for(
        ["Answer: 6"] * 5,
        [verdict("incorrect")] * 5,
        max_iters=5,
        stop=CostBudget(max_usd=20, prices=prices),
    )  # $12 an attempt
    trajectory = run_loop(critic_loop(setup), TASK)
    assert trajectory.stop_reason == "cost_budget" and len(trajectory.attempts) == 2
    unknown, _, _ = setup_for(["Answer: 6"], [verdict("incorrect")], stop=CostBudget(1.0))
    with pytest.raises(ConfigError, match="no price known for model 'gen'"):
        run_loop(critic_loop(unknown), TASK)


def test_oracle_needs_ground_truth_passed_explicitly_and_marks_the_run():
    setup, _, _ = setup_for(
        ["Answer: 6", "Answer: 5", "Answer: 5"],
        [verdict("correct")] * 3,
        stop=AnyOf(Oracle(), MaxIterations(3)),
    )
    with pytest.raises(ConfigError, match="oracle stop policy needs ground truth"):
        run_loop(critic_loop(setup), TASK)
    setup, _, _ = setup_for(
        ["Answer: 6", "Answer: 5", "Answer: 5"],
        [verdict("correct")] * 3,
        stop=AnyOf(Oracle(), MaxIterations(3)),
    )
    trajectory = run_loop(critic_loop(setup), TASK, oracle=lambda answer: answer == TASK.answer)
    assert trajectory.stop_reason == "oracle_correct" and trajectory.oracle
    assert [a.answer for a in trajectory.attempts] == ["6", "5"]  # the critic alone would stop at 6


def test_unparseable_critique_is_recorded_not_guessed():
    setup, _, critic = setup_for(
        ["Answer: 6"] * 2, ["looks fine to me", "yes it is correct"], max_iters=1
    )
    trajectory = run_loop(critic_loop(setup), TASK)
    (critique,) = trajectory.critiques
    assert critique.verdict is None and not critique.parsed
    assert "looks fine to me" in critique.raw and "yes it is correct" in critique.raw
    assert len(critic.requests) == 2  # one retry, no more
    assert critique.usage.calls == 2


@pytest.mark.parametrize(
    "first",
    [
        '{"verdict": "correct", "confidence": 7, "feedback": "x"}',  # confidence out of range
        '{"verdict": "maybe", "confidence": 0.5, "feedback": "x"}',  # unknown verdict
        '{"verdict": "correct", "confidence": 0.5',  # cut off
        "```json\nnot json\n```",
    ],
)
def test_malformed_critique_then_a_good_retry(first):
    setup, _, _ = setup_for(["Answer: 5"], [first, verdict("correct", 0.7)], max_iters=1)
    (critique,) = run_loop(critic_loop(setup), TASK).critiques
    assert critique.parsed and critique.verdict == "correct" and critique.confidence == 0.7


def test_usage_totals_add_up():
    setup, gen, critic = setup_for(
        ["Answer: 6", "Answer: 5"], [verdict("incorrect"), verdict("correct")]
    )
    trajectory = run_loop(critic_loop(setup), TASK)
    assert trajectory.usage.calls == len(gen.requests) + len(critic.requests) == 4
    assert trajectory.usage.prompt_tokens == 10 * 4


def test_self_refine_critiques_with_its_own_model():
    model = ScriptedModel(["Answer: 5", verdict("correct")], name="solo")
    trajectory = run_loop(self_refine(LoopSetup(generator=Generator(model))), TASK)
    assert trajectory.models == {"generator": "solo", "critic": "solo"}
    assert trajectory.stop_reason == "critic_correct"


def test_best_of_n_samples_and_chooses_by_the_critic():
    setup, gen, _ = setup_for(
        ["Answer: 4", "Answer: 5", "Answer: 6"],
        [verdict("incorrect", 0.9), verdict("correct", 0.8), verdict("correct", 0.6)],
        max_iters=3,
    )
    trajectory = run_loop(best_of_n(setup), TASK)
    assert [a.kind for a in trajectory.attempts] == ["sample"] * 3
    assert [options.seed for _, options in gen.requests] == [0, 1, 2]
    assert all(options.temperature == 1.0 for _, options in gen.requests)
    assert trajectory.chosen == 1 and trajectory.final.answer == "5"
    assert trajectory.stop_reason == "best_of_n"


CODE_TASK = Task(
    id="c1",
    prompt="def add(a, b):\n    '''Return a + b.'''\n",
    family="code",
    entry_point="add",
    visible_tests="def check(f):\n    assert f(1, 2) == 3\n",
    hidden_tests="def check(f):\n    assert f(-1, -1) == -2  # HIDDEN-TEST\n",
)


def test_test_repair_feeds_test_failures_back_and_hides_the_hidden_tests():
    wrong = "```python\ndef add(a, b):\n    return a - b\n```"
    right = "```python\ndef add(a, b):\n    return a + b\n```"
    model = ScriptedModel([wrong, right], name="coder")
    setup = LoopSetup(generator=Generator(model), sandbox=ProcessSandbox(), max_iters=3)
    trajectory = run_loop(test_repair(setup), CODE_TASK)
    assert [c.verdict for c in trajectory.critiques] == ["incorrect", "correct"]
    assert trajectory.critiques[0].source == "tests"
    assert "AssertionError" in trajectory.critiques[0].feedback
    assert "AssertionError" in model.requests[1][0][-1].content  # the failure was fed back
    sent = json.dumps([[m.model_dump() for m in msgs] for msgs, _ in model.requests])
    assert "HIDDEN-TEST" not in sent and "assert f(1, 2) == 3" in sent
    assert trajectory.stop_reason == "critic_correct"


def test_misuse_raises_value_error_with_an_exact_message():
    generator = Generator(ScriptedModel([]))
    with pytest.raises(ValueError, match=r"critic_loop needs setup\.critic"):
        critic_loop(LoopSetup(generator=generator))
    with pytest.raises(ValueError, match=r"tool_critic needs setup\.critic with tools"):
        tool_critic(LoopSetup(generator=generator, critic=Critic(ScriptedModel([]))))
    with pytest.raises(ValueError, match=r"test_repair needs setup\.sandbox"):
        test_repair(LoopSetup(generator=generator))


class FailsOnce(ScriptedModel):
    """A critic whose second call dies, as a killed process would."""

    def complete(self, messages, options=None, *, on_text=None):
        if len(self.requests) == 1 and not getattr(self, "failed", False):
            self.failed = True
            raise RuntimeError("killed mid-run")
        return super().complete(messages, options, on_text=on_text)


def test_resume_from_a_checkpoint_does_not_redo_finished_steps(tmp_path):
    gen = ScriptedModel(["Answer: 6", "Answer: 5"], name="gen")
    critic = FailsOnce([verdict("incorrect"), verdict("correct")], name="critic")
    with SqliteSaver.from_conn_string(str(tmp_path / "checkpoints.sqlite")) as saver:
        setup = LoopSetup(generator=Generator(gen), critic=Critic(critic), checkpointer=saver)
        graph = critic_loop(setup)
        with pytest.raises(RuntimeError, match="killed mid-run"):
            run_loop(graph, TASK, thread_id="run-1")
        assert len(gen.requests) == 2  # the first attempt and the repair were made
        trajectory = run_loop(graph, TASK, thread_id="run-1", resume=True)
    assert len(gen.requests) == 2  # nothing generated again
    assert [a.answer for a in trajectory.attempts] == ["6", "5"]
    assert trajectory.stop_reason == "critic_correct"


def test_streaming_shows_text_tool_calls_and_verdicts():
    setup, _, _ = setup_for(["Answer: 6", "Answer: 5"], [verdict("incorrect"), verdict("correct")])
    events = list(stream_loop(critic_loop(setup), TASK))
    kinds = {type(payload) for kind, payload in events if kind == "event"}
    assert kinds == {TextEvent, CritiqueEvent, DecisionEvent}  # no tools in this loop
    assert events[-1][0] == "trajectory" and events[-1][1].stop_reason == "critic_correct"
    text = "".join(p.text for k, p in events if k == "event" and isinstance(p, TextEvent))
    assert text == "Answer: 6Answer: 5"
    verdicts = [p.critique.verdict for _, p in events if isinstance(p, CritiqueEvent)]
    assert verdicts == ["incorrect", "correct"]


def test_graph_specs():
    name, factory = load_graph_factory("critic_loop")
    assert name == "critic_loop" and factory is critic_loop
    with pytest.raises(ConfigError, match="unknown graph 'nope'"):
        load_graph_factory("nope")
    with pytest.raises(ConfigError, match="no graph file"):
        load_graph_factory("missing.py:build")
    with pytest.raises(ConfigError, match="has no function 'nothing'"):
        load_graph_factory("examples/custom_graph.py:nothing")


def test_test_repair_stops_when_a_task_has_no_visible_tests():
    model = ScriptedModel(["```python\ndef add(a, b):\n    return 0\n```"] * 3, name="coder")
    setup = LoopSetup(generator=Generator(model), sandbox=ProcessSandbox(), max_iters=3)
    untested = CODE_TASK.model_copy(update={"visible_tests": None})
    trajectory = run_loop(test_repair(setup), untested)
    assert trajectory.stop_reason == "no_visible_tests" and len(trajectory.attempts) == 1
    assert trajectory.critiques[0].verdict is None and trajectory.critiques[0].source == "tests"
