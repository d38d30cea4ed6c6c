"""The LangGraph state of a critique loop, and what a loop is built from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from looplab.records import Attempt, Critique, TaskView

if TYPE_CHECKING:
    from looplab.agents import Critic, Generator
    from looplab.graphs._policies import StopPolicy
    from looplab.sandbox import Sandbox

__all__ = ["LoopSetup", "LoopState", "append"]


def append(left: list, right: list) -> list:
    """Reducer: records are only ever appended.

    >>> append([1], [2, 3])
    [1, 2, 3]
    """
    return [*left, *right]


class LoopState(TypedDict, total=False):
    """What flows through a critique loop. Ground truth is never in it."""

    task: TaskView
    """The task as the loop may see it."""
    attempts: Annotated[list[Attempt], append]
    critiques: Annotated[list[Critique], append]
    iteration: int
    """Index of the latest attempt."""
    stop_reason: str | None
    """Set by the decide node when the loop must end."""
    oracle_used: bool
    """True once an oracle stop policy consulted ground truth."""
    chosen: int | None
    """best-of-n: the index of the chosen attempt."""


@dataclass
class LoopSetup:
    """Everything a prebuilt (or user) graph factory builds a loop from."""

    generator: Generator
    critic: Critic | None = None
    sandbox: Sandbox | None = None
    """For ``test_repair``: where visible tests run."""
    max_iters: int = 3
    """Most attempts (the first and its repairs; samples for best-of-n). A hard cap."""
    stop: StopPolicy | None = None
    """When to stop early; each graph has a sensible default."""
    max_total_tokens: int | None = None
    """Hard cap on tokens of the whole loop, whatever the stop policy."""
    checkpointer: Any = None
    """A LangGraph checkpointer (e.g. SqliteSaver) so a long run resumes mid-graph."""
