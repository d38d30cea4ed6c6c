"""Best-first search over attempts, scored by the critic's confidence, under a budget."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from looplab.graphs._events import DecisionEvent
from looplab.graphs._nodes import (
    as_node,
    as_route,
    emit,
    generate_answer,
    generation_messages,
    make_attempt,
    make_critique_node,
    make_decide_node,
    repair_messages,
)
from looplab.graphs._policies import ConfidenceAbove
from looplab.graphs._state import LoopSetup, LoopState
from looplab.graphs._voting import sample_generator
from looplab.records import Attempt, Critique
from looplab.steps import Body

__all__ = ["ACCEPT", "node_scores", "tree_search"]

ACCEPT = 0.9
"""The default stop: a node whose critique gives it at least this probability of being
right ends the search (``--stop never`` spends the whole budget instead)."""


def node_scores(attempts: list[Attempt], critiques: list[Critique]) -> list[float]:
    """Each node's score: its critique's ``Critique.score``, what best-of-n ranks by
    (ordered as the critique's probability that the node is right, for every confidence
    source); 0 for a node no critique judged."""
    scores = [0.0] * len(attempts)
    for critique in critiques:
        if critique.iteration < len(scores):
            scores[critique.iteration] = max(scores[critique.iteration], critique.score)
    return scores


def _best(scores: list[float], among: list[int]) -> int:
    """The highest score among ``among``; ties go to the earliest node."""
    return max(among, key=lambda i: (scores[i], -i))


def tree_search(setup: LoopSetup) -> CompiledStateGraph:
    """Best-first search over attempts, scored by the critic, under a token budget.

    The "System 2" idea of spending compute by search (cf. Tree of Thoughts, Yao et al.
    2023), every node judged by the critic.

    The root is the generator's answer. Each expansion adds ``setup.width`` nodes: a
    repair of the best node not yet expanded (with its critique as feedback; ``parent``
    records the edge) and ``width - 1`` fresh samples (temperature 1 where greedy). After
    every node the decide node stops the search when the stop policy says so (default:
    the node's probability of being right is at least ``ACCEPT``), when
    ``setup.max_iters`` nodes exist, or when ``setup.max_total_tokens`` -- the budget,
    every role's tokens -- is spent: no node starts once it is. The answer is the
    best-scored node (ties: the earliest). Every node is in ``attempts``, so the tree
    can be drawn from ``parent``.
    """
    generator, critic, width = setup.generator, setup.critic, max(1, setup.width)
    if critic is None:
        raise ValueError("tree_search needs setup.critic to score nodes")

    def grow(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task = state["task"]
        attempts = state.get("attempts", [])
        critiques = state.get("critiques", [])
        index = len(attempts)
        started = time.perf_counter()
        parent = None
        if index == 0:
            node, messages, kind = generator, generation_messages(generator, task), "initial"
        elif (index - 1) % width == 0:  # the first node of an expansion: repair the best
            expanded = {a.parent for a in attempts if a.parent is not None}
            frontier = [i for i in range(index) if i not in expanded] or list(range(index))
            parent = _best(node_scores(attempts, critiques), frontier)
            judged = [c for c in critiques if c.iteration == parent]
            feedback = judged[-1].feedback if judged else ""
            node, kind = generator, "repair"
            messages = repair_messages(generator, task, attempts[parent].text, feedback)
        else:
            node, kind = sample_generator(generator, index), "sample"
            messages = generation_messages(node, task)
        generation = yield from generate_answer(node, messages, "grow", config)
        attempt = make_attempt(generation, task, index, kind, started)
        return {"attempts": [attempt.model_copy(update={"parent": parent})], "iteration": index}

    def choose(state: LoopState, config: RunnableConfig) -> dict[str, Any]:
        attempts = state["attempts"]
        scores = node_scores(attempts, state.get("critiques", []))
        chosen = _best(scores, list(range(len(attempts))))
        emit(DecisionEvent("choose", state.get("stop_reason")))
        return {"chosen": chosen}

    def route(state: LoopState) -> str:
        return "choose" if state.get("stop_reason") else "grow"

    policy = setup.stop or ConfidenceAbove(ACCEPT)
    graph = StateGraph(LoopState)
    graph.add_node("grow", as_node(grow))
    graph.add_node("critique", make_critique_node(critic, setup.feedback))
    graph.add_node(
        "decide",
        make_decide_node(
            policy, max_attempts=setup.max_iters, max_total_tokens=setup.max_total_tokens
        ),
    )
    graph.add_node("choose", as_node(choose))
    graph.add_edge(START, "grow")
    graph.add_edge("grow", "critique")
    graph.add_edge("critique", "decide")
    graph.add_conditional_edges("decide", as_route(route), ["grow", "choose"])
    graph.add_edge("choose", END)
    return graph.compile(checkpointer=setup.checkpointer, name="tree_search")
