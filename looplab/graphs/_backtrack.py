"""``backtrack``: find the first mistake in a given chain of thought, regenerate from there.

The setting of BIG-Bench Mistake (Tyen et al. 2023). The task's ``draft``
(a planted or labelled chain) is attempt 0; the critic's model, as a
``MistakeFinder``, names the first wrong step k (critique 0); the generator
then rewrites the chain keeping steps 1..k-1 byte for byte and continuing
from there (attempt 1). Where the location comes from is ``setup.locate``:

- ``found``: the finder's answer (the real question: can a model find it?);
- ``gold``: the task's label (ground truth reaches the loop: marked oracle);
- ``random``: a uniformly random step (the paper's control for backtracking).

When no mistake is named the draft stands and the loop ends.
"""

from __future__ import annotations

import random
import time
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from looplab.agents import MistakeFinder
from looplab.answers import extract_answer
from looplab.errors import ConfigError
from looplab.graphs._events import CritiqueEvent
from looplab.graphs._nodes import (
    as_node,
    as_route,
    emit,
    generate_answer,
    generation_messages,
    make_attempt,
    run_truth,
)
from looplab.graphs._state import LoopSetup, LoopState
from looplab.records import Attempt, Critique
from looplab.steps import Body, blocking

__all__ = ["backtrack"]


def backtrack(setup: LoopSetup) -> CompiledStateGraph:
    """Locate the first mistake of the task's draft, then regenerate from that step."""
    if setup.locate == "found" and setup.critic is None:
        raise ValueError("backtrack with locate='found' needs setup.critic (its model finds)")
    finder = (
        MistakeFinder(setup.critic.model, style=setup.finder_style)
        if setup.critic is not None
        else None
    )
    generator = setup.generator

    def draft(state: LoopState, config: RunnableConfig) -> dict[str, Any]:
        task = state["task"]
        if not task.draft:
            raise ConfigError(
                f"task {task.id} has no draft to backtrack in: use a task set with chains "
                "(mistakes:arithmetic, bbmistake:PATH)"
            )
        text = "\n".join(task.draft)
        attempt = Attempt(
            iteration=0,
            kind="draft",
            text=text,
            answer=extract_answer(text, task.family),
            model="draft",
        )
        return {"attempts": [attempt], "iteration": 0}

    def locate(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task = state["task"]
        steps = task.draft or []
        update: dict[str, Any] = {}
        if setup.locate == "gold":
            step = run_truth(config).mistake_step
            critique = _given_location(step, "oracle", "gold")
            update["oracle_used"] = True
        elif setup.locate == "random":
            rng = random.Random(f"random-step:{run_truth(config).seed}:{task.id}")
            critique = _given_location(rng.randint(1, len(steps)), "control", "random")
        else:
            critique = yield blocking(finder.find, task, steps)  # type: ignore[union-attr]
        emit(CritiqueEvent("locate", critique))
        reason = None if critique.mistake_step else "no_mistake_found"
        return {"critiques": [critique], "stop_reason": reason, **update}

    def regenerate(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task = state["task"]
        step = state["critiques"][-1].mistake_step or 1
        kept = (task.draft or [])[: step - 1]
        prefix = "".join(line + "\n" for line in kept)
        started = time.perf_counter()
        messages = generation_messages(generator, task)
        generation = yield from generate_answer(generator, messages, "regenerate", config, prefix)
        attempt = make_attempt(generation, task, 1, "repair", started, len(prefix))
        return {"attempts": [attempt], "iteration": 1, "stop_reason": "backtracked"}

    def route(state: LoopState) -> str:
        return END if state.get("stop_reason") else "regenerate"

    graph = StateGraph(LoopState)
    graph.add_node("draft", as_node(draft))
    graph.add_node("locate", as_node(locate))
    graph.add_node("regenerate", as_node(regenerate))
    graph.add_edge(START, "draft")
    graph.add_edge("draft", "locate")
    graph.add_conditional_edges("locate", as_route(route), ["regenerate", END])
    graph.add_edge("regenerate", END)
    return graph.compile(checkpointer=setup.checkpointer, name="backtrack")


def _given_location(step: int | None, source: str, model: str) -> Critique:
    return Critique(
        iteration=0,
        source=source,  # type: ignore[arg-type]
        verdict="incorrect" if step else "correct",
        confidence=1.0,
        mistake_step=step,
        error_location=f"step {step}" if step else None,
        feedback=f"Step {step} is wrong." if step else "Every step is right.",
        raw=f"{model} location: {step or 'none'}",
        model=model,
    )
