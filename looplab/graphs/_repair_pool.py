"""``repair_pool``: one program and independent repairs of it, for self-repair's estimator.

Olausson et al. (2024) estimate pass rates for every (n_p initial programs,
n_fr repairs per failing program) from one pool drawn once. This graph draws
one unit of that pool per sample: an initial program (attempt 0, sampled at
the generator's temperature), its visible tests in the sandbox (critique 0),
and -- when they fail -- ``setup.max_iters - 1`` repairs *of that same
program*, each seeing the test failure, drawn independently (attempts 1..k,
all with ``iteration`` k for bookkeeping, not a chain). Run it with several
samples per task (``--samples n_p``); ``looplab.metrics.self_repair_grid``
estimates the grid from the run.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from looplab.graphs._nodes import (
    as_node,
    as_route,
    generate_answer,
    make_attempt,
    make_generate_node,
    make_test_node,
    repair_messages,
)
from looplab.graphs._state import LoopSetup, LoopState
from looplab.steps import Body

__all__ = ["repair_pool"]


def repair_pool(setup: LoopSetup) -> CompiledStateGraph:
    """An initial program, its visible tests, and independent repairs when they fail."""
    if setup.sandbox is None:
        raise ValueError("repair_pool needs setup.sandbox to run the visible tests")
    generator = setup.generator
    repairs = max(setup.max_iters - 1, 0)
    base = generator.options

    def repair(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task, first = state["task"], state["attempts"][0]
        feedback = state["critiques"][0].feedback
        messages = repair_messages(generator, task, first.text, feedback)
        attempts = []
        for k in range(1, repairs + 1):
            # independent draws: a seed of their own each (same seed would give one repair k times)
            seed = None if base.seed is None else base.seed + k
            sampler = generator.with_options(
                base.model_copy(update={"temperature": base.temperature or 1.0, "seed": seed})
            )
            started = time.perf_counter()
            generation = yield from generate_answer(sampler, messages, "repair", config)
            attempts.append(make_attempt(generation, task, k, "repair", started))
        return {"attempts": attempts, "iteration": repairs, "stop_reason": "repaired"}

    def route(state: LoopState) -> str:
        verdict = state["critiques"][0].verdict
        # passed, untestable (no visible tests: no feedback to repair from), or no repairs asked
        return "finish" if verdict != "incorrect" or not repairs else "repair"

    def finish(state: LoopState, config: RunnableConfig) -> dict[str, Any]:
        verdict = state["critiques"][0].verdict
        reasons = {"correct": "passed", None: "no_visible_tests"}
        return {"stop_reason": reasons.get(verdict, "no_repairs")}

    graph = StateGraph(LoopState)
    graph.add_node("generate", make_generate_node(generator))
    graph.add_node("test", make_test_node(setup.sandbox))
    graph.add_node("repair", as_node(repair))
    graph.add_node("finish", as_node(finish))
    graph.add_edge(START, "generate")
    graph.add_edge("generate", "test")
    graph.add_conditional_edges("test", as_route(route), ["repair", "finish"])
    graph.add_edge("finish", END)
    graph.add_edge("repair", END)
    return graph.compile(checkpointer=setup.checkpointer, name="repair_pool")
