"""Perturbations change exactly what they say: tool faults, feedback ablations, planted
mistakes, the mistake finder and the backtrack graph (scripted models, seeded)."""

from __future__ import annotations

import json
import random

import pytest

from looplab.agents import CONTINUE_REQUEST, Critic, Generator, MistakeFinder
from looplab.errors import ConfigError
from looplab.graphs import LoopSetup, MaxIterations, Truth, backtrack, critic_loop, run_loop
from looplab.perturb import (
    NO_FEEDBACK,
    STEP,
    FaultSpec,
    FaultyTool,
    FeedbackSpec,
    parse_fault_specs,
    plant_mistake,
    planted_tasks,
    plausible_wrong_answer,
    with_faults,
)
from looplab.records import Task
from looplab.tasks import arithmetic_tasks
from looplab.tools import Calculator, TextTool, ToolRegistry, ToolResult
from tests.helpers.scripted import ScriptedModel

TASK = Task(id="t1", prompt="What is 17 times 23?", family="arithmetic", answer="391")


class Fixed(TextTool):
    """A tool that always answers the same (a stand-in for a real one)."""

    def __init__(self, name: str, output: str) -> None:
        self.name, self.output = name, output

    def call(self, text: str) -> str:
        return self.output


class Failing(TextTool):
    name = "python"

    def call(self, text: str) -> str:
        from looplab.errors import ToolError

        raise ToolError("no sandbox")


def verdict(v: str, feedback: str = "the product is wrong") -> str:
    return json.dumps({"verdict": v, "confidence": 0.9, "feedback": feedback})


# -- tool faults ------------------------------------------------------------------


def test_calculator_faults_change_one_digit_or_the_sign_and_keep_the_truth():
    tool = FaultyTool(Fixed("calc", "391"), FaultSpec("calc", 1.0), seed=0)
    seen = set()
    for _ in range(50):
        result = tool.run("17*23")
        assert result.ok and result.fault in ("calc:digit", "calc:sign")
        assert result.true_output == "391" and result.output != "391"
        if result.fault == "calc:sign":
            assert result.output == "-391"
        else:
            changed = [a != b for a, b in zip(result.output, "391", strict=True)]
            assert sum(changed) == 1 and not result.output.startswith("0")
        seen.add(result.fault)
    assert seen == {"calc:digit", "calc:sign"}


def test_a_fault_rate_is_honoured_and_seeded():
    def faults(seed):
        tool = FaultyTool(Fixed("calc", "1234"), FaultSpec("calc", 0.3), seed=seed)
        return [tool.run("x").fault is not None for _ in range(1000)]

    first = faults(7)
    assert 230 <= sum(first) <= 370  # binomial(1000, 0.3): far outside 6 standard deviations
    assert faults(7) == first and faults(8) != first
    never = FaultyTool(Fixed("calc", "5"), FaultSpec("calc", 0.0), seed=0)
    assert all(never.run("x").fault is None for _ in range(100))


def test_a_calculator_error_is_never_corrupted():
    tool = FaultyTool(Calculator(), FaultSpec("calc", 1.0), seed=0)
    result = tool.run("1/0 +")
    assert not result.ok and result.fault is None


def test_python_faults_invent_or_hide_failures():
    invent = FaultyTool(Fixed("python", "exit 0\nhello"), FaultSpec("python", 1.0), seed=0)
    result = invent.run("print('hello')")
    assert result.fault == "python:false_failure" and result.output.startswith("exit 1")
    assert "Traceback" in result.output and result.true_output == "exit 0\nhello"

    crashed = "exit 1\npartial\nstderr:\nTraceback ...\nZeroDivisionError"
    hide = FaultyTool(Fixed("python", crashed), FaultSpec("python", 1.0), seed=0)
    result = hide.run("1/0")
    assert result.fault == "python:hide_failure" and result.output == "exit 0\npartial"
    assert result.true_output == crashed

    errored = FaultyTool(Failing(), FaultSpec("python", 1.0, ("hide_failure",)), seed=0)
    result = errored.run("x")
    assert result.ok and result.output == "exit 0" and result.true_output == "error: no sandbox"


def test_browser_faults_serve_a_stale_or_an_unrelated_page():
    pages = iter(["page about cats", "page about dogs"])

    class Pages(TextTool):
        name = "browse"

        def call(self, text: str) -> str:
            return next(pages)

    stale = FaultyTool(Pages(), FaultSpec("browse", 1.0, ("stale",)), seed=0)
    assert stale.run("http://a/").fault is None  # nothing earlier to serve yet
    result = stale.run("http://b/")
    assert result.fault == "browse:stale" and result.output == "page about cats"
    assert result.true_output == "page about dogs"
    unrelated = FaultyTool(
        Fixed("browse", "news"), FaultSpec("browse", 1.0, ("unrelated",)), seed=0
    )
    result = unrelated.run("http://c/")
    assert result.fault == "browse:unrelated" and "museum" in result.output


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("calc", "write TOOL:RATE"),
        ("calc:2", "between 0 and 1"),
        ("shell:0.1", "no fault modes for tool 'shell'"),
        ("calc:0.1:typo", "has no mode 'typo'"),
    ],
)
def test_bad_fault_specs_are_refused(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_fault_specs(spec)


def test_fault_specs_parse_and_need_the_tool():
    specs = parse_fault_specs("calc:0.2, python:0.5:hide_failure")
    assert [str(s) for s in specs] == ["calc:0.2", "python:0.5:hide_failure"]
    with pytest.raises(ConfigError, match="does not have"):
        with_faults(ToolRegistry([Calculator()]), parse_fault_specs("python:0.1"), seed=0)


def test_an_injected_fault_is_recorded_on_the_tool_call_and_shown_to_the_model():
    model = ScriptedModel(["17 times 23: <calc>17*23</calc>", " so it is that.\nAnswer: x"])
    tools = with_faults(ToolRegistry([Calculator()]), [FaultSpec("calc", 1.0, ("sign",))], seed=0)
    generation = Generator(model, tools).generate([])
    (call,) = generation.tool_calls
    assert call.fault == "calc:sign" and call.output == "-391" and call.true_output == "391"
    assert (
        "<result>-391</result>" in generation.text
        and "391</result>" not in generation.text.replace("-391", "")
    )


# -- feedback ablations ------------------------------------------------------------


def loop_setup(generator_script, critic_script, **kwargs):
    gen = ScriptedModel(generator_script, name="gen")
    critic = ScriptedModel(critic_script, name="critic")
    setup = LoopSetup(
        generator=Generator(gen),
        critic=Critic(critic),
        max_iters=2,
        stop=MaxIterations(2),
        **kwargs,
    )
    return setup, gen, critic


def test_no_feedback_keeps_the_verdict_and_hides_its_content():
    setup, gen, _ = loop_setup(
        ["Answer: 381", "Answer: 391"],
        [verdict("incorrect", "7 times 3 is 21: the product is 391"), verdict("correct")],
        feedback=FeedbackSpec.parse("none"),
    )
    trajectory = run_loop(critic_loop(setup), TASK)
    first = trajectory.critiques[0]
    assert first.verdict == "incorrect" and first.perturbation == "no_feedback"
    assert first.feedback == NO_FEEDBACK and "391" in first.raw  # the critic's words are kept
    repair_request = gen.requests[1][0][-1].content
    assert NO_FEEDBACK in repair_request and "391" not in repair_request


def test_oracle_feedback_uses_ground_truth_with_seeded_noise_and_marks_the_run():
    def run(noise, seed):
        setup, _, critic = loop_setup(
            ["Answer: 381", "Answer: 391"], [], feedback=FeedbackSpec("oracle", noise)
        )
        t = run_loop(
            critic_loop(setup),
            TASK,
            oracle=lambda answer: answer == "391",
            truth=Truth(seed=seed),
        )
        assert critic.requests == []  # the critic model is never asked
        return t

    clean = run(0.0, 0)
    assert [c.verdict for c in clean.critiques] == ["incorrect", "correct"]
    assert all(c.source == "oracle" and c.perturbation is None for c in clean.critiques)
    assert clean.oracle  # ground truth reached the loop: an upper bound
    flipped = run(1.0, 0)
    assert [c.verdict for c in flipped.critiques] == ["correct", "incorrect"]
    assert all(c.perturbation == "oracle_flipped" for c in flipped.critiques)
    noisy = [tuple(c.verdict for c in run(0.5, seed).critiques) for seed in range(12)]
    assert len(set(noisy)) > 1 and noisy == [
        tuple(c.verdict for c in run(0.5, seed).critiques) for seed in range(12)
    ]


def test_oracle_feedback_without_ground_truth_is_an_error():
    setup, _, _ = loop_setup(["Answer: 1"], [], feedback=FeedbackSpec("oracle"))
    with pytest.raises(ConfigError, match="needs ground truth"):
        run_loop(critic_loop(setup), TASK)


def test_biased_feedback_tells_the_critic_a_wrong_answer():
    wrong = plausible_wrong_answer("391", 3)
    assert wrong is not None and wrong != "391"
    setup, _, critic = loop_setup(
        ["Answer: 391", "Answer: 391"],
        [verdict("incorrect"), verdict("correct")],
        feedback=FeedbackSpec("biased"),
    )
    trajectory = run_loop(critic_loop(setup), TASK, truth=Truth(wrong_answer=wrong))
    request = critic.requests[0][0][-1].content
    assert request.endswith(f"I think the answer is {wrong}.")
    assert trajectory.critiques[0].perturbation == f"biased:{wrong}"
    assert not trajectory.oracle


def test_plausible_wrong_answers_are_never_right():
    for answer in ["0", "7", "391", "-12", "1234567", "2.5", "1,200"]:
        for seed in range(20):
            wrong = plausible_wrong_answer(answer, seed)
            assert float(wrong) != float(answer.replace(",", ""))
    assert plausible_wrong_answer("blue", 0) is None


@pytest.mark.parametrize("text", ["critic", "none", "oracle", "oracle:0.25", "biased"])
def test_feedback_specs_round_trip(text):
    assert str(FeedbackSpec.parse(text)) == (text if text != "oracle:0" else "oracle")


@pytest.mark.parametrize("text", ["silent", "oracle:2", "none:1", "oracle:x"])
def test_bad_feedback_specs_are_refused(text):
    with pytest.raises(ConfigError):
        FeedbackSpec.parse(text)


# -- planted mistakes -----------------------------------------------------------


def test_a_planted_mistake_is_exactly_at_its_step_and_propagates():
    steps = ["45 + 23 = 68", "68 * 3 = 204", "204 - 17 = 187"]
    for k in (1, 2, 3):
        for seed in range(20):
            planted = plant_mistake(steps, k, random.Random(seed))
            assert planted[: k - 1] == steps[: k - 1]  # everything before is untouched
            a, op, b, c = STEP.match(planted[k - 1]).groups()
            assert eval(f"{a}{op}{b}") != int(c)  # step k is wrong
            for i, line in enumerate(planted[k:], start=k):  # later steps follow correctly
                a, op, b, c = STEP.match(line).groups()
                assert eval(f"{a}{op}{b}") == int(c)
                assert int(a) == int(STEP.match(planted[i - 1]).group(4))
            assert int(STEP.match(planted[-1]).group(4)) != 187


def test_planted_tasks_carry_a_draft_and_the_hidden_location():
    tasks = planted_tasks(arithmetic_tasks(30, steps=3))
    assert {t.metadata["mistake_step"] for t in tasks} == {1, 2, 3}
    for task in tasks:
        assert task.draft[-1].startswith("Answer: ") and len(task.draft) == 4
        assert task.draft[-1] != f"Answer: {task.answer}"
        assert "mistake_step" not in task.public().model_dump_json()
    assert planted_tasks(arithmetic_tasks(5, steps=3)) == planted_tasks(
        arithmetic_tasks(5, steps=3)
    )


# -- the mistake finder and backtracking ----------------------------------------

CHAIN = Task(
    id="c1",
    prompt="Ana has 45 apples. Then Ana finds 23 more. Then Ana gets 3 times as many. How many?",
    family="arithmetic",
    answer="204",
    draft=["45 + 23 = 68", "68 * 3 = 214", "Answer: 214"],
    metadata={"mistake_step": 2},
)


def test_trace_finder_reads_the_step_number():
    model = ScriptedModel([json.dumps({"first_wrong_step": 2})])
    critique = MistakeFinder(model).find(CHAIN, CHAIN.draft)
    assert critique.mistake_step == 2 and critique.verdict == "incorrect"
    assert "Step 2: 68 * 3 = 214" in model.requests[0][0][-1].content
    none = MistakeFinder(ScriptedModel([json.dumps({"first_wrong_step": 0})])).find(
        CHAIN, CHAIN.draft
    )
    assert none.mistake_step is None and none.verdict == "correct"


def test_a_finder_that_cannot_answer_is_recorded_unparsed():
    bad = MistakeFinder(ScriptedModel(["step two", "still prose"])).find(CHAIN, CHAIN.draft)
    assert bad.verdict is None and not bad.parsed and "still prose" in bad.raw
    past_end = MistakeFinder(ScriptedModel([json.dumps({"first_wrong_step": 9})]))
    assert past_end.find(CHAIN, CHAIN.draft).verdict is None


@pytest.mark.parametrize("style", ["step", "cot-step"])
def test_step_level_finders_stop_at_the_first_wrong_step(style):
    answers = [True, False]
    script = [
        json.dumps(
            {"reasoning": "checked", "correct": a} if style == "cot-step" else {"correct": a}
        )
        for a in answers
    ]
    model = ScriptedModel(script)
    critique = MistakeFinder(model, style=style).find(CHAIN, CHAIN.draft)
    assert critique.mistake_step == 2 and len(model.requests) == 2  # step 3 never asked
    assert model.requests[1][0][-1].content.rstrip().endswith("Is step 2 correct?")


def backtrack_setup(generator_script, finder_script, *, continuation=True, **kwargs):
    gen = ScriptedModel(generator_script, name="gen", continuation=continuation)
    finder = ScriptedModel(finder_script, name="finder")
    return LoopSetup(generator=Generator(gen), critic=Critic(finder), **kwargs), gen


def test_backtracking_keeps_the_steps_before_the_location_byte_for_byte():
    setup, gen = backtrack_setup(
        ["68 * 3 = 204\nAnswer: 204"], [json.dumps({"first_wrong_step": 2})]
    )
    t = run_loop(backtrack(setup), CHAIN)
    assert [a.kind for a in t.attempts] == ["draft", "repair"]
    assert t.attempts[0].text == "\n".join(CHAIN.draft) and t.attempts[0].answer == "214"
    assert t.attempts[1].text == "45 + 23 = 68\n68 * 3 = 204\nAnswer: 204"
    assert t.attempts[1].answer == "204" and t.critiques[0].mistake_step == 2
    last = gen.requests[0][0][-1]
    assert last.role == "assistant" and last.content == "45 + 23 = 68\n"  # true continuation
    assert not t.oracle and t.models == {"generator": "gen", "critic": "finder"}


def test_backtracking_without_continuation_asks_for_it_in_a_new_turn():
    setup, gen = backtrack_setup(
        ["68 * 3 = 204\nAnswer: 204"], [json.dumps({"first_wrong_step": 2})], continuation=False
    )
    t = run_loop(backtrack(setup), CHAIN)
    request = gen.requests[0][0]
    assert request[-2].content == "45 + 23 = 68\n" and request[-1].content == CONTINUE_REQUEST
    assert t.attempts[1].text.startswith("45 + 23 = 68\n")


def test_gold_and_random_locations_are_marked_for_what_they_are():
    setup, _ = backtrack_setup(["x\nAnswer: 204"], [], locate="gold")
    gold = run_loop(backtrack(setup), CHAIN, truth=Truth(mistake_step=2))
    assert gold.critiques[0].source == "oracle" and gold.oracle
    assert gold.critiques[0].mistake_step == 2

    steps = set()
    for seed in range(10):
        setup, _ = backtrack_setup(["x\nAnswer: 1"], [], locate="random")
        t = run_loop(backtrack(setup), CHAIN, truth=Truth(seed=seed))
        assert t.critiques[0].source == "control" and not t.oracle
        steps.add(t.critiques[0].mistake_step)
    assert steps <= {1, 2, 3} and len(steps) > 1


def test_no_mistake_found_leaves_the_draft_standing():
    setup, gen = backtrack_setup([], [json.dumps({"first_wrong_step": 0})])
    t = run_loop(backtrack(setup), CHAIN)
    assert len(t.attempts) == 1 and t.stop_reason == "no_mistake_found" and gen.requests == []


def test_backtrack_needs_a_draft():
    setup, _ = backtrack_setup([], [])
    with pytest.raises(ConfigError, match="no draft"):
        run_loop(backtrack(setup), TASK)


def test_tool_results_are_plain_when_no_fault_applies():
    assert ToolResult(ok=True, output="1").fault is None
