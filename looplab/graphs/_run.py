"""Running a loop on a task, turning its final state into a Trajectory, finding graphs by name."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import uuid
from collections.abc import Callable, Iterator
from importlib import import_module
from pathlib import Path
from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph

from looplab.errors import ConfigError
from looplab.graphs._catalog import GRAPH_CATALOG
from looplab.graphs._events import LoopEvent
from looplab.graphs._nodes import ORACLE_KEY, STREAM_KEY, TRUTH_KEY
from looplab.graphs._state import LoopSetup, LoopState, OracleCheck, Truth
from looplab.records import Task, TaskView, Trajectory

__all__ = [
    "GRAPHS",
    "SANDBOX_GRAPHS",
    "GraphFactory",
    "arun_loop",
    "initial_state",
    "load_graph_factory",
    "run_config",
    "run_loop",
    "stream_loop",
    "trajectory_from_state",
]

GraphFactory = Callable[[LoopSetup], CompiledStateGraph]
"""What builds a graph: a LoopSetup in, a compiled LangGraph graph out."""

GRAPHS: dict[str, GraphFactory] = {
    name: getattr(import_module(f"looplab.graphs.{module}"), name)
    for name, module in GRAPH_CATALOG.items()
}
"""The prebuilt graphs by name."""

SANDBOX_GRAPHS = frozenset({"test_repair", "repair_pool", "self_tests"})
"""Prebuilt graphs that run visible tests in a sandbox."""


def graph_source_sha256(spec: str) -> str | None:
    """The sha256 of a user graph's file (``FILE.py:FUNCTION``); None for a prebuilt graph
    or a file that is not there. A run's manifest keeps it, so the code that made a run
    is known, and resuming or forking it refuses other code."""
    if spec in GRAPHS:
        return None
    path = Path(spec.rpartition(":")[0])
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_graph_factory(spec: str) -> tuple[str, GraphFactory]:
    """A prebuilt name, or ``path/to/file.py:function`` naming a user's factory."""
    if spec in GRAPHS:
        return spec, GRAPHS[spec]
    path_text, sep, attribute = spec.rpartition(":")
    if not sep or not path_text.endswith(".py"):
        known = ", ".join(GRAPHS)
        raise ConfigError(f"unknown graph {spec!r}: use one of {known}, or FILE.py:FUNCTION")
    path = Path(path_text)
    if not path.is_file():
        raise ConfigError(f"no graph file {path}")
    module_name = f"looplab_user_graph_{path.stem}"
    loader = importlib.util.spec_from_file_location(module_name, path)
    if loader is None or loader.loader is None:
        raise ConfigError(f"cannot import {path}")
    module = importlib.util.module_from_spec(loader)
    sys.modules[module_name] = module
    try:
        loader.loader.exec_module(module)
    except Exception as exc:  # the user's file: any error is theirs to see, in one line
        raise ConfigError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ConfigError(f"{path} has no function {attribute!r}")
    return spec, factory


def initial_state(task: Task | TaskView) -> LoopState:
    """The state a loop starts from: the public view of the task, nothing more."""
    view = task.public() if isinstance(task, Task) else task
    return {
        "task": view,
        "attempts": [],
        "critiques": [],
        "iteration": 0,
        "stop_reason": None,
        "oracle_used": False,
        "chosen": None,
        "vote": None,
    }


def run_config(
    *,
    oracle: OracleCheck | None = None,
    truth: Truth | None = None,
    thread_id: str | None = None,
    recursion_limit: int = 200,
    stream: bool = False,
) -> dict[str, Any]:
    """LangGraph's run config: the oracle and ``truth`` (if any) travel here, never in the state."""
    configurable: dict[str, Any] = {"thread_id": thread_id or uuid.uuid4().hex}
    if oracle is not None:
        configurable[ORACLE_KEY] = oracle
    if truth is not None:
        configurable[TRUTH_KEY] = truth
    if stream:
        configurable[STREAM_KEY] = True
    return {"configurable": configurable, "recursion_limit": recursion_limit}


def trajectory_from_state(state: LoopState, *, task_id: str, graph: str) -> Trajectory:
    """The Trajectory record of a loop's final state."""
    attempts = list(state.get("attempts", []))
    critiques = list(state.get("critiques", []))
    models: dict[str, str] = {}
    written = [a for a in attempts if a.kind != "draft"]
    if written:
        models["generator"] = written[0].model
    critic_models = [c.model for c in critiques if c.source == "model"]
    if critic_models:
        models["critic"] = critic_models[0]
    return Trajectory(
        task_id=task_id,
        graph=graph,
        attempts=attempts,
        critiques=critiques,
        stop_reason=state.get("stop_reason") or "",
        chosen=state.get("chosen"),
        vote=state.get("vote"),
        oracle=bool(state.get("oracle_used")),
        models=models,
    )


def run_loop(
    graph: CompiledStateGraph,
    task: Task | TaskView,
    *,
    oracle: OracleCheck | None = None,
    truth: Truth | None = None,
    thread_id: str | None = None,
    resume: bool = False,
) -> Trajectory:
    """Run a compiled loop on one task and return its trajectory.

    ``oracle`` hands ground truth to an ``Oracle`` stop policy (and marks the
    trajectory). With a checkpointer, ``resume=True`` continues the run of
    ``thread_id`` from its last checkpoint instead of starting over.
    """
    config = run_config(oracle=oracle, truth=truth, thread_id=thread_id)
    state = graph.invoke(None if resume else initial_state(task), config)
    return trajectory_from_state(state, task_id=task.id, graph=graph.name)


async def arun_loop(
    graph: CompiledStateGraph,
    task: Task | TaskView,
    *,
    oracle: OracleCheck | None = None,
    truth: Truth | None = None,
) -> Trajectory:
    """The async twin of ``run_loop`` (nodes run in LangGraph's thread pool)."""
    state = await graph.ainvoke(initial_state(task), run_config(oracle=oracle, truth=truth))
    return trajectory_from_state(state, task_id=task.id, graph=graph.name)


def stream_loop(
    graph: CompiledStateGraph,
    task: Task | TaskView,
    *,
    oracle: OracleCheck | None = None,
    truth: Truth | None = None,
) -> Iterator[tuple[Literal["event"], LoopEvent] | tuple[Literal["trajectory"], Trajectory]]:
    """Run a loop, yielding ("event", LoopEvent) as nodes work, then ("trajectory", T)."""
    config = run_config(oracle=oracle, truth=truth, stream=True)
    final: LoopState = {}
    for mode, payload in graph.stream(
        initial_state(task), config, stream_mode=["custom", "values"]
    ):
        if mode == "custom":
            yield "event", payload
        else:
            final = payload
    yield "trajectory", trajectory_from_state(final, task_id=task.id, graph=graph.name)
