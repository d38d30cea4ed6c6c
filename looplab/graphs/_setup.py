"""Building a LoopSetup from the CLI's (or a config's) plain options."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from looplab.agents import CRITIC_CONFIDENCE, FINDER_STYLES, Critic, Generator
from looplab.errors import ConfigError
from looplab.graphs._policies import AnyOf, MaxIterations, Oracle
from looplab.graphs._run import GraphFactory, load_graph_factory
from looplab.graphs._state import LoopSetup
from looplab.llm import ChatModel, CompletionOptions, load_model
from looplab.perturb import FeedbackSpec
from looplab.sandbox import Sandbox
from looplab.tools import make_syntax, make_tools

__all__ = ["SANDBOX_GRAPHS", "SetupOptions", "build_setup", "check_setup_options"]

SANDBOX_GRAPHS = frozenset({"test_repair", "repair_pool"})
"""Graphs that run visible tests in a sandbox."""


@dataclass(frozen=True)
class SetupOptions:
    """Everything needed to build a loop, as strings and numbers (CLI flags, manifests)."""

    graph: str = "critic_loop"
    model: str = "local"
    critic_model: str | None = None
    """Defaults to the generator's model spec."""
    tools: Sequence[str] = ()
    critic_tools: Sequence[str] = ()
    """Tools of the critic; ``tool_critic`` defaults to the calculator."""
    critic_confidence: str = "verbal"
    """``verbal`` (the critic's written confidence) or ``p_true`` (P(True), its verdict
    by threshold 0.5)."""
    max_iters: int = 3
    max_tokens: int = 256
    """Per answer (all its tool rounds together)."""
    width: int = 3
    """``debate``: agents; ``tree_search``: nodes per expansion."""
    budget: int | None = None
    """Most tokens of a whole loop, every role's (``tree_search``'s budget; a hard cap on
    every other loop)."""
    temperature: float = 0.0
    seed: int | None = None
    sandbox: str = "auto"
    """Backend where test_repair runs the visible tests."""
    oracle: bool = False
    """Stop when ground truth says the answer is right (an upper bound, marked as such)."""
    feedback: str = "critic"
    """critic, none, oracle[:NOISE] or biased (``looplab.perturb.FeedbackSpec``)."""
    stop: str = "default"
    """``default`` (the graph's own policy) or ``never`` (only the attempt cap: every loop
    makes all its rounds, as in Huang et al.'s protocol)."""
    tool_syntax: str = "tags"
    """How the generator writes tool calls: ``tags`` (``<calc>..</calc>``) or ``gsm8k``."""
    locate: str = "found"
    """``backtrack``: found, gold or random."""
    finder_style: str = "trace"
    """``backtrack``: trace, step or cot-step."""


def check_setup_options(options: SetupOptions) -> None:
    """Raise ``ConfigError`` for any option that would fail every loop, building nothing
    (no weights loaded, no tool started): a driver checks before sending work elsewhere."""
    from looplab.llm import parse_model_spec
    from looplab.tools import BUILTIN_TOOLS

    load_graph_factory(options.graph)
    for spec in filter(None, (options.model, options.critic_model)):
        parse_model_spec(spec)
    FeedbackSpec.parse(options.feedback)
    make_syntax(options.tool_syntax)
    if options.critic_confidence not in CRITIC_CONFIDENCE:
        raise ConfigError(
            f"unknown critic confidence {options.critic_confidence!r}: use "
            + " or ".join(CRITIC_CONFIDENCE)
        )
    unknown = [t for t in (*options.tools, *options.critic_tools) if t not in BUILTIN_TOOLS]
    if unknown:
        raise ConfigError(f"unknown tool {unknown[0]!r}: the tools are {', '.join(BUILTIN_TOOLS)}")
    if options.stop not in ("default", "never"):
        raise ConfigError(f"unknown stop rule {options.stop!r}: use default or never")
    if options.locate not in ("found", "gold", "random"):
        raise ConfigError(f"unknown location source {options.locate!r}: use found, gold or random")
    if options.finder_style not in FINDER_STYLES:
        raise ConfigError(
            f"unknown finder style {options.finder_style!r}: use {', '.join(FINDER_STYLES)}"
        )


def build_setup(
    options: SetupOptions,
    *,
    wrap_model: Callable[[ChatModel], ChatModel] | None = None,
    sandbox: Sandbox | None = None,
) -> tuple[str, GraphFactory, LoopSetup]:
    """The graph's name, its factory and the setup to call it with.

    ``wrap_model`` wraps each model once it is loaded (the eval runner records
    every completion this way); ``sandbox`` is used instead of building one.
    """
    check_setup_options(options)
    name, factory = load_graph_factory(options.graph)
    wrap = wrap_model or (lambda model: model)
    generator_model = wrap(load_model(options.model))
    critic_spec = options.critic_model or options.model
    critic_model = (
        generator_model if critic_spec == options.model else wrap(load_model(critic_spec))
    )
    completion = CompletionOptions(
        max_tokens=options.max_tokens,
        temperature=options.temperature,
        seed=options.seed,
        # an answer_logprob critic reads the answer's probability off the generator's call
        logprobs=0 if options.critic_confidence == "answer_logprob" else None,
    )
    generator = Generator(
        generator_model,
        make_tools(options.tools),
        syntax=make_syntax(options.tool_syntax),
        options=completion,
    )
    critic_tools = list(options.critic_tools) or (["calc"] if name == "tool_critic" else [])
    critic = Critic(
        critic_model, tools=make_tools(critic_tools), confidence=options.critic_confidence
    )
    if sandbox is None and name in SANDBOX_GRAPHS:
        from looplab.sandbox import make_sandbox

        sandbox = make_sandbox(options.sandbox)
    stop = MaxIterations(options.max_iters) if options.stop == "never" else None
    if options.oracle:
        stop = AnyOf(Oracle(), MaxIterations(options.max_iters))
    setup = LoopSetup(
        generator=generator,
        critic=critic,
        sandbox=sandbox,
        max_iters=options.max_iters,
        max_total_tokens=options.budget,
        width=options.width,
        stop=stop,
        feedback=FeedbackSpec.parse(options.feedback),
        locate=options.locate,  # type: ignore[arg-type]
        finder_style=options.finder_style,
    )
    return name, factory, setup
