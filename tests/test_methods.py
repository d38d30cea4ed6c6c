"""Chain-of-Verification, Reflexion and self-generated tests on scripted models: what each
step sees and does not see, what is recorded, and what it costs."""

from __future__ import annotations

import json

import pytest

from looplab.agents import Critic, Generator
from looplab.graphs import (
    GRAPHS,
    LoopSetup,
    chain_of_verification,
    reflexion,
    run_loop,
    self_tests,
)
from looplab.perturb import FeedbackSpec
from looplab.records import Task
from looplab.sandbox import ProcessSandbox
from tests.helpers.scripted import ScriptedModel

TASK = Task(id="t1", prompt="Ann has 23 apples and buys 9 more. How many?", family="arithmetic",
            answer="32")  # fmt: skip
CODE_TASK = Task(
    id="c1",
    prompt="def add(a, b):\n    '''Return a + b.'''\n",
    family="code",
    entry_point="add",
    visible_tests="def check(f):\n    assert f(1, 2) == 3  # VISIBLE-TEST\n",
    hidden_tests="def check(f):\n    assert f(-1, -1) == -2  # HIDDEN-TEST\n",
)


def verdict(v: str, feedback: str = "ok") -> str:
    return json.dumps({"feedback": feedback, "verdict": v, "confidence": 0.9})


def sent(model: ScriptedModel) -> list[str]:
    """Every request's messages, as text."""
    return [json.dumps([m.model_dump() for m in messages]) for messages, _ in model.requests]


def test_the_three_methods_are_prebuilt_graphs() -> None:
    assert {"chain_of_verification", "reflexion", "self_tests"} <= set(GRAPHS)


# -- Chain-of-Verification ------------------------------------------------------------


def test_cove_answers_its_questions_without_the_draft_then_revises() -> None:
    model = ScriptedModel(
        [
            "23 + 9 = 33.\nAnswer: 33",  # the draft, wrong
            "1. What is 23 + 9?\n2. How many apples did Ann buy?\nThat is all.",  # the plan
            "23 + 9 = 32.\nAnswer: 32",  # verification 1, on its own
            "She bought 9.\nAnswer: 9",  # verification 2
            "The check says 23 + 9 = 32.\nAnswer: 32",  # the revision
        ],
        name="gen",
    )
    trajectory = run_loop(chain_of_verification(LoopSetup(generator=Generator(model))), TASK)
    assert [a.answer for a in trajectory.attempts] == ["33", "32"]
    assert [a.kind for a in trajectory.attempts] == ["initial", "repair"]
    (checks,) = trajectory.critiques
    assert checks.source == "verification" and checks.verdict is None
    assert checks.feedback == "Q: What is 23 + 9?\nA: 32\nQ: How many apples did Ann buy?\nA: 9"
    requests = sent(model)
    assert "23 + 9 = 33" in requests[1]  # the plan reads the draft
    for request in requests[2:4]:  # each verification: its question only
        assert "33" not in request and "Ann has 23 apples" not in request
    assert "What is 23 + 9?" in requests[2] and "How many apples" in requests[3]
    assert "Q: What is 23 + 9?\\nA: 32" in requests[4] and "23 + 9 = 33" in requests[4]
    assert trajectory.stop_reason == "revised"
    # every call is counted: draft and revision as attempts, plan and checks as the critique
    assert sum(a.usage.calls for a in trajectory.attempts) == 2 and checks.usage.calls == 3


def test_cove_with_no_question_planned_still_revises_and_says_so() -> None:
    model = ScriptedModel(["Answer: 33", "I cannot think of checks.", "Answer: 33"])
    trajectory = run_loop(chain_of_verification(LoopSetup(generator=Generator(model))), TASK)
    assert trajectory.critiques[0].feedback == "(no verification questions were planned)"
    assert len(trajectory.attempts) == 2 and len(model.requests) == 3


# -- Reflexion ------------------------------------------------------------------------


def test_reflexion_keeps_reflections_and_each_trial_starts_afresh() -> None:
    generator = ScriptedModel(
        [
            "23 + 9 = 33.\nAnswer: 33",  # trial 1
            "I added wrongly; next time I will add digit by digit.",  # reflection 1
            "23 + 9 = 31.\nAnswer: 31",  # trial 2, with the memory
            "I rushed again; I will check the sum with a second addition.",  # reflection 2
            "23 + 9 = 32.\nAnswer: 32",  # trial 3, with both
        ],
        name="actor",
    )
    critic = ScriptedModel(
        [verdict("incorrect", "33 is wrong"), verdict("incorrect", "31 is wrong"),
         verdict("correct")], name="critic",
    )  # fmt: skip
    setup = LoopSetup(generator=Generator(generator), critic=Critic(critic), max_iters=4)
    trajectory = run_loop(reflexion(setup), TASK)
    assert [a.answer for a in trajectory.attempts] == ["33", "31", "32"]
    assert [c.source for c in trajectory.critiques] == [
        "model", "reflection", "model", "reflection", "model"
    ]  # fmt: skip
    assert trajectory.stop_reason == "critic_correct"
    requests = sent(generator)
    assert "33 is wrong" in requests[1] and "23 + 9 = 33" in requests[1]  # reflecting on it
    # trial 2 reads reflection 1 but not its earlier answer; trial 3 reads both reflections
    assert "add digit by digit" in requests[2] and "23 + 9 = 33" not in requests[2]
    assert "add digit by digit" in requests[4] and "second addition" in requests[4]
    assert "23 + 9 = 31" not in requests[4] and "31 is wrong" not in requests[4]


def test_reflexion_stops_at_max_iters_without_a_last_reflection() -> None:
    generator = ScriptedModel(["Answer: 33", "I was wrong.", "Answer: 34"])
    critic = ScriptedModel([verdict("incorrect")] * 2)
    setup = LoopSetup(generator=Generator(generator), critic=Critic(critic), max_iters=2)
    trajectory = run_loop(reflexion(setup), TASK)
    assert len(trajectory.attempts) == 2 and trajectory.stop_reason == "max_iterations"
    assert [c.source for c in trajectory.critiques] == ["model", "reflection", "model"]


def test_reflexion_with_oracle_failure_is_marked() -> None:
    generator = ScriptedModel(["Answer: 33", "Wrong sum.", "Answer: 32"])
    setup = LoopSetup(generator=Generator(generator), feedback=FeedbackSpec.parse("oracle"),
                      max_iters=3)  # fmt: skip
    trajectory = run_loop(reflexion(setup), TASK, oracle=lambda answer: answer == "32")
    assert trajectory.oracle and trajectory.critiques[0].source == "oracle"
    assert [a.answer for a in trajectory.attempts] == ["33", "32"]
    assert "32" not in sent(generator)[1]  # the truth is not shown


def test_reflexion_on_code_fails_on_the_visible_tests_never_the_hidden() -> None:
    wrong = "```python\ndef add(a, b):\n    return a - b\n```"
    right = "```python\ndef add(a, b):\n    return a + b\n```"
    model = ScriptedModel([wrong, "I subtracted; I must add.", right], name="coder")
    setup = LoopSetup(generator=Generator(model), sandbox=ProcessSandbox(), max_iters=3)
    trajectory = run_loop(reflexion(setup), CODE_TASK)
    assert [c.source for c in trajectory.critiques] == ["tests", "reflection", "tests"]
    assert [c.verdict for c in trajectory.critiques] == ["incorrect", None, "correct"]
    assert all("HIDDEN-TEST" not in request for request in sent(model))
    assert "I subtracted" in sent(model)[2] and "return a - b" not in sent(model)[2]


# -- self-generated tests -------------------------------------------------------------


def test_self_tests_are_written_once_from_the_task_and_drive_the_repair() -> None:
    wrong = "```python\ndef add(a, b):\n    return a - b\n```"
    right = "```python\ndef add(a, b):\n    return a + b\n```"
    tests = "```python\nassert add(2, 2) == 4\nassert add(0, 5) == 5\nassert sub(1) == 0\n```"
    model = ScriptedModel([wrong, tests, right], name="coder")
    setup = LoopSetup(generator=Generator(model), sandbox=ProcessSandbox(), max_iters=3)
    trajectory = run_loop(self_tests(setup), CODE_TASK)
    assert [a.answer for a in trajectory.attempts] == [wrong[10:-4], right[10:-4]]
    first, second = trajectory.critiques
    assert (first.source, first.verdict, second.verdict) == ("self-tests", "incorrect", "correct")
    assert "assert add(2, 2) == 4" in first.raw and "sub(1)" not in first.raw
    assert first.usage.calls == 1 and second.usage.calls == 0  # written once, counted once
    requests = sent(model)
    writing = requests[1]
    assert "Return a + b" in writing and "return a - b" not in writing  # the task, not the code
    assert "VISIBLE-TEST" not in writing and "HIDDEN-TEST" not in json.dumps(requests)
    assert "Your own tests failed" in requests[2] and "AssertionError" in requests[2]
    assert trajectory.stop_reason == "critic_correct"


def test_self_tests_stop_when_the_model_writes_no_usable_test() -> None:
    model = ScriptedModel(["```python\ndef add(a, b):\n    return 0\n```", "I would test it."])
    setup = LoopSetup(generator=Generator(model), sandbox=ProcessSandbox(), max_iters=3)
    trajectory = run_loop(self_tests(setup), CODE_TASK)
    assert trajectory.stop_reason == "nothing_checked" and len(trajectory.attempts) == 1
    assert trajectory.critiques[0].verdict is None
    assert "no usable test" in trajectory.critiques[0].raw


def test_self_tests_need_a_sandbox() -> None:
    with pytest.raises(ValueError, match=r"self_tests needs setup\.sandbox"):
        self_tests(LoopSetup(generator=Generator(ScriptedModel([]))))


# -- the real embedded model ----------------------------------------------------------


@pytest.mark.slow
def test_each_method_runs_on_the_embedded_model(embedded_model) -> None:
    from looplab.llm import CompletionOptions
    from looplab.tasks import code_tasks

    generator = Generator(embedded_model, options=CompletionOptions(max_tokens=120))
    cove = run_loop(chain_of_verification(LoopSetup(generator=generator)), TASK)
    assert len(cove.attempts) == 2 and cove.critiques[0].source == "verification"
    assert cove.critiques[0].usage.total_tokens > 0 and cove.critiques[0].raw

    setup = LoopSetup(generator=generator, critic=Critic(embedded_model), max_iters=2)
    trajectory = run_loop(reflexion(setup), TASK)
    sources = [c.source for c in trajectory.critiques]
    assert sources in (["model"], ["model", "reflection", "model"])
    if len(sources) == 3:  # the critic said wrong: a reflection, then a fresh trial
        assert trajectory.critiques[1].feedback and trajectory.attempts[1].kind == "repair"

    (task,) = code_tasks(1)
    sandbox = ProcessSandbox()
    setup = LoopSetup(generator=generator, sandbox=sandbox, max_iters=2)
    trajectory = run_loop(self_tests(setup), task)
    first = trajectory.critiques[0]
    assert first.source == "self-tests" and first.usage.calls == 1
    assert ("the tests:" in first.raw) or ("no usable test" in first.raw)


def test_training_exports_never_rebuild_a_conversation_these_methods_did_not_have(tmp_path):
    from looplab.exports import load_source, training_records
    from looplab.records import Attempt, Critique, TaskResult, Trajectory
    from looplab.runs import RunStore

    tasks = tmp_path / "tasks.jsonl"
    rows = [{"id": t, "prompt": "Ann has 23 apples and buys 9 more.", "family": "arithmetic",
             "answer": "32"} for t in ("a", "b")]  # fmt: skip
    tasks.write_text("".join(json.dumps(r) + "\n" for r in rows))
    store = RunStore(tmp_path / "run")
    store.create({"tasks": f"jsonl:{tasks}", "graph": "reflexion", "model": "gen"}, 2)
    for task_id, second in (("a", "reflection"), ("b", "model")):
        attempts = [
            Attempt(iteration=0, text="Answer: 33", answer="33"),
            Attempt(iteration=1, kind="repair", text="Answer: 32", answer="32"),
        ]
        said = None if second == "reflection" else "incorrect"
        critiques = [
            Critique(iteration=0, verdict="incorrect", feedback="no"),
            Critique(iteration=0, source=second, verdict=said, feedback="I added wrongly."),
        ]
        trajectory = Trajectory(task_id=task_id, graph="reflexion", attempts=attempts,
                                critiques=critiques, stop_reason="critic_correct")  # fmt: skip
        store.append(TaskResult(task_id=task_id, trajectory=trajectory, grades=[False, True]))
    store.close()
    repairs = training_records(load_source(tmp_path / "run"), "repairs").records
    # the reflexion trial (task a) is left out; a repair that read a critique (b) stays
    assert [r["provenance"]["task_id"] for r in repairs] == ["b"]
