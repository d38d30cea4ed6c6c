"""Prebuilt critique loops: each a function of a ``LoopSetup`` returning a compiled graph."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from looplab.agents import Critic, StepChecker
from looplab.graphs._events import CritiqueEvent, DecisionEvent
from looplab.graphs._nodes import (
    as_node,
    as_route,
    emit,
    generate_answer,
    generation_messages,
    make_attempt,
    make_critique_node,
    make_decide_node,
    make_generate_node,
    make_repair_node,
    make_test_node,
    route_after_decide,
)
from looplab.graphs._policies import (
    AnyOf,
    CriticSaysCorrect,
    MaxIterations,
    NothingChecked,
    NoVisibleTests,
    StopPolicy,
)
from looplab.graphs._state import LoopSetup, LoopState
from looplab.steps import Body

__all__ = [
    "best_of_n",
    "calc_check",
    "critic_loop",
    "self_refine",
    "test_repair",
    "tool_critic",
]


def _loop(
    name: str, setup: LoopSetup, check: tuple[str, Any], default_stop: StopPolicy
) -> CompiledStateGraph:
    """generate -> check -> decide -> (repair -> check -> decide)* -> END.

    ``check`` is (node name, node): the critic ("critique") or the tests ("test").
    """
    check_name, check_node = check
    policy = setup.stop or default_stop
    graph = StateGraph(LoopState)
    graph.add_node("generate", make_generate_node(setup.generator))
    graph.add_node(check_name, check_node)
    graph.add_node(
        "decide",
        make_decide_node(
            policy, max_attempts=setup.max_iters, max_total_tokens=setup.max_total_tokens
        ),
    )
    graph.add_node("repair", make_repair_node(setup.repairer or setup.generator, setup.repair_mode))
    graph.add_edge(START, "generate")
    graph.add_edge("generate", check_name)
    graph.add_edge(check_name, "decide")
    graph.add_conditional_edges("decide", as_route(route_after_decide), ["repair", END])
    graph.add_edge("repair", check_name)
    return graph.compile(checkpointer=setup.checkpointer, name=name)


def _default_stop(setup: LoopSetup) -> StopPolicy:
    return AnyOf(CriticSaysCorrect(), MaxIterations(setup.max_iters))


def self_refine(setup: LoopSetup) -> CompiledStateGraph:
    """Self-Refine (Madaan et al. 2023): one model answers, critiques itself, refines.

    The critic is the generator's own model unless ``setup.critic`` is given.
    """
    critic = setup.critic or Critic(setup.generator.model)
    return _loop(
        "self_refine",
        setup,
        ("critique", make_critique_node(critic, setup.feedback)),
        _default_stop(setup),
    )


def critic_loop(setup: LoopSetup) -> CompiledStateGraph:
    """A generator and a separate critic (any models, any backends) in a repair loop.

    The setting of Huang et al. 2023 and Tyen et al. 2023 when the critic is
    another model: does outside feedback without ground truth help?
    """
    if setup.critic is None:
        raise ValueError("critic_loop needs setup.critic")
    return _loop(
        "critic_loop",
        setup,
        ("critique", make_critique_node(setup.critic, setup.feedback)),
        _default_stop(setup),
    )


def tool_critic(setup: LoopSetup) -> CompiledStateGraph:
    """CRITIC (Gou et al. 2024): the critic verifies with tools before its verdict."""
    if setup.critic is None or not len(setup.critic.tools):
        raise ValueError("tool_critic needs setup.critic with tools (e.g. calc, python)")
    return _loop(
        "tool_critic",
        setup,
        ("critique", make_critique_node(setup.critic, setup.feedback)),
        _default_stop(setup),
    )


def test_repair(setup: LoopSetup) -> CompiledStateGraph:
    """Self-Debugging (Chen et al. 2023) / self-repair (Olausson et al. 2024) for code.

    The task's visible tests run in the sandbox and their failure is the
    feedback; the hidden tests are for grading only and never reach the loop.
    """
    if setup.sandbox is None:
        raise ValueError("test_repair needs setup.sandbox")
    stop = AnyOf(CriticSaysCorrect(threshold=1.0), NoVisibleTests(), MaxIterations(setup.max_iters))
    return _loop("test_repair", setup, ("test", make_test_node(setup.sandbox)), setup.stop or stop)


def calc_check(setup: LoopSetup) -> CompiledStateGraph:
    """Feedback from a tool, not a judge: the calculator rechecks the answer's arithmetic.

    The calculator recomputes every arithmetic step the answer wrote and the generator
    is told which ones are wrong (CRITIC's contrast,
    Gou et al. 2024, with the tool as the whole critic). Like visible tests it checks
    what the answer wrote, not ground truth; an answer with no step to check ends the
    loop (``nothing_checked``). The calculator is the critic's if it has one."""
    tools = setup.critic.tools if setup.critic is not None else None
    checker = StepChecker(tools["calc"] if tools is not None and "calc" in tools else None)

    def check(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        attempt = state["attempts"][-1]
        critique = yield from checker.body(attempt.text, iteration=attempt.iteration)
        emit(CritiqueEvent("check", critique))
        return {"critiques": [critique]}

    stop = AnyOf(CriticSaysCorrect(threshold=1.0), NothingChecked(), MaxIterations(setup.max_iters))
    return _loop("calc_check", setup, ("check", as_node(check)), setup.stop or stop)


def best_of_n(setup: LoopSetup) -> CompiledStateGraph:
    """The baseline: n = ``setup.max_iters`` independent samples, the critic picks one.

    Samples use temperature 1 (seeds 0..n-1 where the generator has none), so
    its token cost is comparable to a loop of the same number of attempts. The
    critic judges them once all are drawn, each with the other samples' answers
    at hand (a learned verifier's agreement feature reads them; Cobbe et al.'s
    verifier-ranked sampling is this graph with ``--critic-confidence learned:V``).
    """
    if setup.critic is None:
        raise ValueError("best_of_n needs setup.critic to choose a sample")
    generator, critic, n = setup.generator, setup.critic, setup.max_iters
    base = generator.options

    def sample(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task = state["task"]
        done = len(state.get("attempts", []))
        sampler = generator.with_options(
            base.model_copy(
                update={"temperature": base.temperature or 1.0, "seed": (base.seed or 0) + done}
            )
        )
        started = time.perf_counter()
        messages = generation_messages(sampler, task)
        generation = yield from generate_answer(sampler, messages, "sample", config)
        return {
            "attempts": [make_attempt(generation, task, done, "sample", started)],
            "iteration": done,
        }

    def judge(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        attempts = state["attempts"]
        i = len(state.get("critiques", []))
        attempt = attempts[i]
        result = yield from critic.body(
            state["task"],
            attempt.text,
            iteration=attempt.iteration,
            answer_probability=attempt.answer_probability,
            others=[a.answer for j, a in enumerate(attempts) if j != i],
        )
        emit(CritiqueEvent("judge", result))
        return {"critiques": [result]}

    def choose(state: LoopState, config: RunnableConfig) -> dict[str, Any]:
        scores = [c.score for c in state["critiques"]]
        chosen = max(range(len(scores)), key=lambda i: (scores[i], -i))
        emit(DecisionEvent("choose", "best_of_n"))
        return {"chosen": chosen, "stop_reason": "best_of_n"}

    def more_samples(state: LoopState) -> str:
        return "sample" if len(state["attempts"]) < n else "judge"

    def more_judged(state: LoopState) -> str:
        return "judge" if len(state["critiques"]) < n else "choose"

    graph = StateGraph(LoopState)
    graph.add_node("sample", as_node(sample))
    graph.add_node("judge", as_node(judge))
    graph.add_node("choose", as_node(choose))
    graph.add_edge(START, "sample")
    graph.add_conditional_edges("sample", as_route(more_samples), ["sample", "judge"])
    graph.add_conditional_edges("judge", as_route(more_judged), ["judge", "choose"])
    graph.add_edge("choose", END)
    return graph.compile(checkpointer=setup.checkpointer, name="best_of_n")


test_repair.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite its name
