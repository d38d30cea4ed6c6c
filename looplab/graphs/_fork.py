"""Counterfactual forks: run a loop again from iteration k of a recorded trajectory.

The fork's state starts as the parent's records before iteration ``at`` --
its attempts and critiques, copied unchanged -- and the graph resumes at the
node that writes attempt ``at`` (``repair``); at 0 nothing is copied and the
whole loop runs again. Whatever the fork changes (the
critic, the feedback, a tool) acts from there on. With a generator model
wrapped in ``ReplayThenLive`` over the parent's recording, attempt ``at``
itself is the parent's whenever its requests are unchanged, so a fork
diverges exactly where its change first makes a difference.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from looplab.errors import ConfigError
from looplab.graphs._run import initial_state, run_config, run_loop, trajectory_from_state
from looplab.graphs._state import LoopSetup, OracleCheck, Truth
from looplab.records import Task, Trajectory

__all__ = ["checkpoint_serde", "run_fork"]


def checkpoint_serde() -> JsonPlusSerializer:
    """A checkpoint serializer that accepts looplab's records and nothing else unknown.

    Pass it to a checkpointer (``SqliteSaver(conn, serde=checkpoint_serde())``) so
    LangGraph restores the loop state without its warning about unregistered types.
    """
    names = ("TaskView", "Attempt", "Critique", "ToolCall", "Usage")
    return JsonPlusSerializer(allowed_msgpack_modules=[("looplab.records", n) for n in names])


def run_fork(
    factory: Any,
    setup: LoopSetup,
    task: Task,
    parent: Trajectory,
    at: int,
    *,
    oracle: OracleCheck | None = None,
    truth: Truth | None = None,
) -> Trajectory:
    """The loop of ``factory(setup)`` on ``task``, sharing ``parent``'s records before ``at``."""
    if at < 0 or at >= len(parent.attempts):
        raise ConfigError(
            f"task {task.id}: the parent has {len(parent.attempts)} attempt(s), so there is "
            f"no iteration {at} to fork at"
        )
    if at == 0:  # nothing to copy: the replayed generator reproduces attempt 0 itself
        trajectory = run_loop(factory(setup), task, oracle=oracle, truth=truth)
        return trajectory.model_copy(update={"forked_at": 0})
    # A fresh checkpointer per fork: the prefix is written into it as the decide node's output.
    graph = factory(replace(setup, checkpointer=InMemorySaver(serde=checkpoint_serde())))
    if "decide" not in graph.nodes or "repair" not in graph.nodes:
        raise ConfigError(
            f"graph {graph.name} cannot be forked: forks resume loops that have "
            "'decide' and 'repair' nodes (critic_loop, self_refine, tool_critic, test_repair)"
        )
    config = run_config(oracle=oracle, truth=truth)
    state = initial_state(task)
    state.update(
        attempts=[a for a in parent.attempts if a.iteration < at],
        critiques=[c for c in parent.critiques if c.iteration < at],
        iteration=at - 1,
        oracle_used=parent.oracle,
    )
    graph.update_state(config, state, as_node="decide")
    final = graph.invoke(None, config)
    trajectory = trajectory_from_state(final, task_id=task.id, graph=graph.name)
    return trajectory.model_copy(update={"forked_at": at})
