"""The LangGraph state of a critique loop, and what a loop is built from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypedDict

from looplab.perturb import FeedbackSpec
from looplab.records import Attempt, Critique, FinderStyle, Locate, RepairMode, TaskView, Vote

if TYPE_CHECKING:
    from looplab.agents import Critic, Generator
    from looplab.sandbox import Sandbox

__all__ = ["LoopSetup", "LoopState", "OracleCheck", "StopPolicy", "Truth", "append"]


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
    """best-of-n, a vote, a search: the index of the chosen attempt."""
    vote: Vote | None
    """self_consistency, debate: the vote that chose it."""
    own_tests: str | None
    """self_tests: the tests the model wrote for its code (``check(candidate)``), once."""


OracleCheck = Callable[[str | None], bool]
"""Ground truth as a function: is this extracted answer correct?"""


class StopPolicy(Protocol):
    """When a loop ends: looked at after each check (``looplab.graphs`` has the built-in ones)."""

    uses_oracle: bool
    """True for a policy that reads ground truth: the run is marked ``oracle``."""

    def reason(self, state: LoopState, oracle: OracleCheck | None) -> str | None:
        """A reason to stop now (it becomes the trajectory's ``stop_reason``), or None."""
        ...


@dataclass
class LoopSetup:
    """Everything a prebuilt (or user) graph factory builds a loop from."""

    generator: Generator
    critic: Critic | None = None
    repair_mode: RepairMode = "rewrite"
    """``continue``: a repair goes on from the critique's ``correction`` (the attempt up to
    its first error, put right by the checker) instead of answering anew; a critique
    without one is repaired by rewriting."""
    repairer: Generator | None = None
    """Who writes the repairs (default: ``generator``): the same model with other tools,
    say -- the calculator in the repair only is CRITIC's correction step (Gou et al.)."""
    sandbox: Sandbox | None = None
    """For ``test_repair``: where visible tests run."""
    max_iters: int = 3
    """Most attempts (the first and its repairs; samples for best-of-n). A hard cap."""
    stop: StopPolicy | None = None
    """When to stop early; each graph has a sensible default."""
    max_total_tokens: int | None = None
    """Hard cap on tokens of the whole loop, whatever the stop policy; ``tree_search``'s
    budget (no node starts once it is spent)."""
    width: int = 3
    """``debate``: agents; ``tree_search``: nodes added per expansion (one repair of the
    best node, the rest fresh samples)."""
    checkpointer: Any = None
    """A LangGraph checkpointer (e.g. SqliteSaver) so a long run resumes mid-graph."""
    feedback: FeedbackSpec = field(default_factory=FeedbackSpec)
    """Where the feedback between attempts comes from (an ablation when not ``critic``)."""
    locate: Locate = "found"
    """``backtrack``: whose mistake location to restart from -- the critic's, the task's
    labelled one (ground truth: marked oracle), or a random step (the paper's control)."""
    finder_style: FinderStyle = "trace"
    """``backtrack``: how the critic's model looks for the mistake (trace, step, cot-step)."""


@dataclass(frozen=True)
class Truth:
    """What perturbations may take from ground truth, handed to a run in its config
    (``config["configurable"]["looplab_truth"]``), never put in the state."""

    seed: int | str = 0
    """Seeds the run's random perturbations (oracle noise, the random location)."""
    wrong_answer: str | None = None
    """``biased`` feedback: the surely-wrong answer the critic is told the user believes."""
    mistake_step: int | None = None
    """``backtrack`` with ``locate="gold"``: the labelled first wrong step."""
