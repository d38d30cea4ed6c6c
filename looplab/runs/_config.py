"""What a loop and a run are made of: ``LoopConfig`` and ``EvalConfig``, declared once.

Every option of a loop is a field here, with its type, its default and its
help text (the ``description``). ``looplab run`` and ``looplab eval`` take
their flags' defaults and help from these fields (``cli/_options.py``), the
eval runner and the studies build ``EvalConfig``s, and ``build_setup`` turns
a ``LoopConfig`` into a ``LoopSetup``: an option added here reaches all of
them. An ``EvalConfig`` is a ``LoopConfig`` plus the run's own fields, so a
run's manifest stays one flat record.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, Field, ValidationError

from looplab.errors import ConfigError
from looplab.graphs import GRAPH_CATALOG
from looplab.llm import MODEL_SPEC_FORMS
from looplab.perturb import FEEDBACK_FORMS
from looplab.records import FinderStyle, Locate, RepairMode, ToolSyntaxName
from looplab.tasks import task_set_forms
from looplab.tools import BUILTIN_TOOLS

# The open choices' help is made from the registries the code dispatches on, so that
# help and errors cannot drift from the code.
_TOOLS = ", ".join(BUILTIN_TOOLS)

__all__ = ["EvalConfig", "ForkOf", "LoopConfig", "StopRule", "validated"]

StopRule = Literal["default", "never"]
"""``default``: the graph's own stop policy; ``never``: only the attempt cap."""


class LoopConfig(BaseModel):
    """Everything needed to build one loop, as strings and numbers (flags, manifests)."""

    graph: str = Field(
        "critic_loop",
        description=f"A prebuilt graph ({', '.join(GRAPH_CATALOG)}) or FILE.py:FUNCTION.",
    )
    model: str = Field("local", description=f"Model spec: {', '.join(MODEL_SPEC_FORMS.values())}.")
    critic_model: str | None = Field(
        None, description="The critic's model spec (default: the generator's)."
    )
    tools: list[str] = Field(
        default_factory=list, description=f"Generator tools, comma-separated, of: {_TOOLS}."
    )
    critic_tools: list[str] = Field(
        default_factory=list,
        description=f"Critic tools, comma-separated, of: {_TOOLS} (tool_critic defaults to calc).",
    )
    repair_tools: list[str] | None = Field(
        None,
        description="Tools the repairs may call (default: the generator's); calc with no "
        "--tools is CRITIC's correction step: the first answer without the tool, repairs with it.",
    )
    repair_mode: RepairMode = Field(
        "rewrite",
        description="rewrite (a new answer after the feedback) or continue (the previous "
        "answer continued from its first error, as the checker corrected it: calc_check).",
    )
    critic_confidence: str = Field(
        "verbal",
        description="Critic confidence: verbal (written), p_true (P(True)), p_true_samples or "
        "self_consistency (from 5 answers the critic samples), answer_logprob (the "
        "answer tokens' probability), learned:FILE (a verifier from `looplab verifier "
        "train`).",
    )
    max_iters: int = Field(3, ge=1, description="Most attempts per task.")
    max_tokens: int = Field(
        256, ge=1, description="Tokens per answer (all its tool rounds together)."
    )
    width: int = Field(3, ge=1, description="debate: agents; tree_search: nodes per expansion.")
    budget: int | None = Field(
        None,
        ge=1,
        description="Most tokens per loop, every role's (tree_search's budget; a cap elsewhere).",
    )
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    sandbox: str = Field("auto", description="Sandbox backend for code and visible tests.")
    oracle: bool = Field(False, description="Let ground truth stop loops (an upper bound; marked).")
    feedback: str = Field(
        "critic", description=f"Feedback between attempts: {', '.join(FEEDBACK_FORMS.values())}."
    )
    stop: StopRule = Field(
        "default", description="default (the graph's policy) or never (all rounds, always)."
    )
    tool_syntax: ToolSyntaxName = Field(
        "tags", description="tags (<calc>17*23</calc>) or gsm8k (<<17*23=391>>)."
    )
    locate: Locate = Field(
        "found", description="backtrack: mistake location from found, gold or random."
    )
    finder_style: FinderStyle = Field(
        "trace", description="backtrack: how the critic looks: trace, step, cot-step."
    )


class ForkOf(BaseModel):
    """A counterfactual fork: which run it branches from, and from which iteration."""

    run: str
    """The parent run directory."""
    at: int
    """The first iteration that may differ; the parent's records before it are kept."""
    tasks: list[str] | None = None
    """Only these task ids (all of the parent's finished tasks when None)."""


class EvalConfig(LoopConfig):
    """Everything that defines a run: its loop, its tasks and samples; stored in its manifest."""

    tasks: str = Field(
        "arithmetic",
        description=f"Task set: {task_set_forms()} (looplab tasks list).",
    )
    limit: int | None = Field(None, ge=1, description="Only the first N tasks.")
    samples: int = Field(1, ge=1, description="Runs per task (for pass@k).")
    seed: int = Field(0, description="Base seed (per-task seeds derive from it).")
    concurrency: int = Field(4, ge=1, description="Tasks in flight at once.")
    faults: list[str] = Field(
        default_factory=list,
        description="Make the generator's tools wrong on purpose, e.g. calc:0.2.",
    )
    fork: ForkOf | None = None
    """Set for a counterfactual fork of another run."""


C = TypeVar("C", bound=BaseModel)


def validated(config_type: type[C], **values: Any) -> C:
    """``config_type(**values)``, a bad value raised as a one-line ``ConfigError``
    that names the option and what it takes."""
    try:
        return config_type(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "config"
        field = config_type.model_fields.get(name)
        choices = get_args(field.annotation) if field is not None else ()
        if choices and all(isinstance(c, str) for c in choices):
            raise ConfigError(
                f"unknown {name.replace('_', ' ')} {values.get(name)!r}: use {', '.join(choices)}"
            ) from None
        raise ConfigError(f"--{name.replace('_', '-')}: {error['msg']}") from None
