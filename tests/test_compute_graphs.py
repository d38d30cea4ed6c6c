"""self_consistency, debate, tree_search and calc_check: control flow on scripted models,
and end to end on the embedded model."""

from __future__ import annotations

import asyncio
import json

import pytest

from looplab.agents import Critic, Generator, arithmetic_steps
from looplab.answers import majority_vote, vote_key
from looplab.graphs import (
    LoopSetup,
    MaxIterations,
    arun_loop,
    calc_check,
    debate,
    node_scores,
    run_loop,
    self_consistency,
    tree_search,
)
from looplab.records import Attempt, Task
from tests.helpers.scripted import ScriptedModel

TASK = Task(id="t1", prompt="What is 2+3?", family="arithmetic", answer="5")


def verdict(v: str, confidence: float = 0.9, feedback: str = "ok") -> str:
    return json.dumps({"verdict": v, "confidence": confidence, "feedback": feedback})


def attempts(*answers):
    return [Attempt(iteration=i, text=f"Answer: {a}", answer=a) for i, a in enumerate(answers)]


def test_vote_counts_answers_by_value_and_breaks_ties_by_the_earliest():
    vote, chosen = majority_vote(attempts("7", "5", "5.0", "7", None), [0, 1, 2, 3, 4])
    assert vote.counts == {"7": 2, "5": 2} and vote.tie and vote.rule == "earliest"
    assert vote.winner == "7" and chosen == 0
    vote, chosen = majority_vote(attempts("3", "1,200", "1200"), [0, 1, 2])
    assert (vote.winner, vote.tie, chosen) == ("1200", False, 1)
    vote, chosen = majority_vote(attempts(None, None), [0, 1])
    assert (vote.winner, vote.counts, chosen) == (None, {}, 0)
    assert vote_key("Paris.") == vote_key(" paris ") == "paris"


def test_self_consistency_samples_k_times_and_records_its_vote():
    gen = ScriptedModel(["Answer: 4", "Answer: 5", "Answer: 5", "Answer: 6", "Answer: 4"])
    setup = LoopSetup(generator=Generator(gen), max_iters=5)
    trajectory = run_loop(self_consistency(setup), TASK)
    assert [a.kind for a in trajectory.attempts] == ["sample"] * 5
    assert [options.seed for _, options in gen.requests] == [0, 1, 2, 3, 4]
    assert all(options.temperature == 1.0 for _, options in gen.requests)
    # 4 and 5 tie with two votes each: the earliest (4, attempt 0) wins, and it says so
    assert trajectory.vote.counts == {"4": 2, "5": 2, "6": 1} and trajectory.vote.tie
    assert trajectory.chosen == 0 and trajectory.final.answer == "4"
    assert trajectory.stop_reason == "vote" and trajectory.critiques == []


def test_debate_agents_see_the_others_previous_answers_and_nothing_else():
    # round 0: agents answer 4, 5, 6; round 1: 5, 5, 6; the vote of the last round is 5
    script = ["R0 A1 Answer: 4", "R0 A2 Answer: 5", "R0 A3 Answer: 6",
              "R1 A1 Answer: 5", "R1 A2 Answer: 5", "R1 A3 Answer: 6"]  # fmt: skip
    gen = ScriptedModel(script)
    setup = LoopSetup(generator=Generator(gen), max_iters=2, width=3)
    trajectory = run_loop(debate(setup), TASK)
    assert [(a.agent, a.kind) for a in trajectory.attempts] == [
        (0, "sample"), (1, "sample"), (2, "sample"), (0, "debate"), (1, "debate"), (2, "debate")
    ]  # fmt: skip
    for agent in range(3):
        messages = gen.requests[3 + agent][0]
        seen = "\n".join(m.content for m in messages)
        own, others = f"R0 A{agent + 1}", [f"R0 A{j + 1}" for j in range(3) if j != agent]
        assert messages[-2].role == "assistant" and messages[-2].content.startswith(own)
        assert all(o in messages[-1].content for o in others)
        assert own not in messages[-1].content  # its own answer is its history, not advice
        assert "R1" not in seen  # no agent sees this round's answers
    for agent in range(3):  # round 0 sees only the task
        assert "R0" not in "\n".join(m.content for m in gen.requests[agent][0])
    assert trajectory.vote.voters == [3, 4, 5] and trajectory.vote.counts == {"5": 2, "6": 1}
    assert trajectory.chosen == 3 and trajectory.final.answer == "5"


SEARCH_NODES = [
    "root Answer: 4",  # node 0
    "repair0 Answer: 6",  # node 1: repair of node 0 (the only node)
    "sample2 Answer: 5",  # node 2: a fresh sample
    "repair2 Answer: 5",  # node 3: repair of the best node not yet expanded (2)
    "sample4 Answer: 7",  # node 4
]
SEARCH_VERDICTS = [
    verdict("incorrect", 0.6, "check the sum"),  # node 0: p = 0.4
    verdict("incorrect", 0.9, "no"),  # node 1: p = 0.1
    verdict("correct", 0.7, "fine"),  # node 2: p = 0.7
    verdict("correct", 0.8, "fine"),  # node 3: p = 0.8
    verdict("correct", 0.8, "fine"),  # node 4
]


def search(budget=None):
    gen, critic = ScriptedModel(SEARCH_NODES), ScriptedModel(SEARCH_VERDICTS)
    setup = LoopSetup(
        generator=Generator(gen), critic=Critic(critic), max_iters=5, width=2,
        stop=MaxIterations(5), max_total_tokens=budget,
    )  # fmt: skip
    return run_loop(tree_search(setup), TASK), gen


def test_tree_search_expands_the_best_node_and_stops_when_the_budget_is_spent():
    unlimited, _ = search()
    assert len(unlimited.attempts) == 5 and unlimited.stop_reason == "max_iterations"
    spent, total = [], 0
    for a, c in zip(unlimited.attempts, unlimited.critiques, strict=True):
        total += a.usage.total_tokens + c.usage.total_tokens
        spent.append(total)
    # a budget that runs out during node 3: node 3 runs (it started under the budget),
    # node 4 never starts
    trajectory, gen = search(budget=spent[2] + 1)
    assert len(trajectory.attempts) == 4 and trajectory.stop_reason == "token_cap"
    assert trajectory.usage.total_tokens == spent[3]
    assert [(a.kind, a.parent) for a in trajectory.attempts] == [
        ("initial", None), ("repair", 0), ("sample", None), ("repair", 2)
    ]  # fmt: skip
    # a repair is shown its parent's text and its parent's critique
    assert gen.requests[1][0][-2].content == "root Answer: 4"
    assert "check the sum" in gen.requests[1][0][-1].content
    assert gen.requests[3][0][-2].content == "sample2 Answer: 5"
    assert "fine" in gen.requests[3][0][-1].content
    assert gen.requests[2][1].temperature == 1.0  # a fresh sample is sampled
    # the answer is the best-scored node (Critique.score: 1 + p for "correct")
    scores = node_scores(trajectory.attempts, trajectory.critiques)
    assert scores == pytest.approx([0.4, 0.1, 1.7, 1.8])
    assert trajectory.chosen == 3
    # exactly at the budget: nothing more starts
    trajectory, _ = search(budget=spent[1])
    assert len(trajectory.attempts) == 2 and trajectory.usage.total_tokens == spent[1]


def test_tree_search_stops_by_default_at_a_confident_node():
    gen = ScriptedModel(["Answer: 4", "Answer: 5"])
    critic = ScriptedModel([verdict("incorrect", 0.8, "recheck"), verdict("correct", 0.95)])
    setup = LoopSetup(generator=Generator(gen), critic=Critic(critic), max_iters=6, width=2)
    trajectory = run_loop(tree_search(setup), TASK)
    assert len(trajectory.attempts) == 2 and trajectory.stop_reason == "confident"
    assert trajectory.chosen == 1 and trajectory.final.answer == "5"


@pytest.mark.slow
def test_the_new_graphs_run_on_the_embedded_model(embedded_model):
    generator = Generator(embedded_model)
    generator.options = generator.options.model_copy(update={"max_tokens": 96})
    task = Task(
        id="s",
        prompt="Tom has 12 pens and buys 30 more. How many pens?",
        family="arithmetic",
        answer="42",
    )
    expected = {"self_consistency": 3, "debate": 4, "tree_search": 3, "calc_check": None}
    for factory, kwargs in (
        (self_consistency, {"max_iters": 3}),
        (debate, {"max_iters": 2, "width": 2}),
        (tree_search, {"max_iters": 3, "width": 2, "stop": MaxIterations(3)}),
        (calc_check, {"max_iters": 2}),
    ):
        setup = LoopSetup(generator=generator, critic=Critic(embedded_model), **kwargs)
        trajectory = asyncio.run(arun_loop(factory(setup), task))
        name = factory.__name__
        if expected[name] is not None:
            assert len(trajectory.attempts) == expected[name], name
        assert trajectory.final is not None and trajectory.final.usage.calls >= 1, name
        assert all(a.model.startswith("llama.cpp:") for a in trajectory.attempts), name
        if name in ("self_consistency", "debate"):
            assert trajectory.vote is not None and trajectory.chosen is not None
        if name == "calc_check":
            assert all(c.source == "tool" for c in trajectory.critiques)
            assert trajectory.stop_reason in ("critic_correct", "nothing_checked", "max_iterations")


def test_calc_check_feeds_the_calculators_disagreement_back():
    gen = ScriptedModel(
        ["Femi gets 7 * 95 = 625 books.\nAnswer: 625", "So 7 * 95 = 665.\nAnswer: 665"]
    )
    setup = LoopSetup(generator=Generator(gen), max_iters=3)
    trajectory = run_loop(calc_check(setup), TASK)
    first, second = trajectory.critiques
    assert (first.source, first.verdict, second.verdict) == ("tool", "incorrect", "correct")
    assert first.feedback == "The calculator disagrees with these steps: 7*95 = 665, not 625."
    assert [call.input for call in first.tool_calls] == ["7*95"]
    assert "7*95 = 665, not 625" in gen.requests[1][0][-1].content  # shown to the repair
    assert trajectory.stop_reason == "critic_correct" and trajectory.final.answer == "665"


def test_calc_check_stops_when_there_is_nothing_to_check():
    gen = ScriptedModel(["It is five.\nAnswer: 5"])
    trajectory = run_loop(calc_check(LoopSetup(generator=Generator(gen), max_iters=3)), TASK)
    assert trajectory.critiques[0].verdict is None and trajectory.stop_reason == "nothing_checked"
    assert len(trajectory.attempts) == 1


def test_arithmetic_steps_are_found_without_the_tool_calls():
    text = "<calc>9*9</calc><result>81</result> so 81 + 1 = 82, and 1,000 / 8 = 125.0"
    assert arithmetic_steps(text) == [("81+1", "82"), ("1000/8", "125.0")]
