"""Building a LoopSetup from a LoopConfig: models, tools and the sandbox made from their specs."""

from __future__ import annotations

from collections.abc import Callable

from looplab.agents import CRITIC_CONFIDENCE, Critic, Generator, Verifier, load_verifier
from looplab.errors import ConfigError
from looplab.graphs import (
    SANDBOX_GRAPHS,
    AnyOf,
    GraphFactory,
    LoopSetup,
    MaxIterations,
    Oracle,
    load_graph_factory,
)
from looplab.llm import ChatModel, CompletionOptions, load_model
from looplab.perturb import FeedbackSpec
from looplab.runs._config import EvalConfig, LoopConfig
from looplab.sandbox import Sandbox
from looplab.tools import make_syntax, make_tools

__all__ = ["build_setup", "check_loop_config", "check_run_config", "critic_verifier"]

LEARNED = "learned:"


def critic_verifier(options: LoopConfig) -> Verifier | None:
    """The verifier a ``learned:FILE`` critic confidence names (read and checked), None
    for the other sources; any other value is a one-line error naming the choices."""
    confidence = options.critic_confidence
    if confidence.startswith(LEARNED) and confidence[len(LEARNED) :]:
        return load_verifier(confidence[len(LEARNED) :])
    if confidence not in CRITIC_CONFIDENCE or confidence == "learned":
        choices = [c for c in CRITIC_CONFIDENCE if c != "learned"]
        raise ConfigError(
            f"unknown critic confidence {confidence!r}: use one of {', '.join(choices)}, "
            "learned:FILE"
        )
    return None


def check_loop_config(options: LoopConfig) -> None:
    """Raise ``ConfigError`` for any option that would fail every loop, building nothing
    (no weights loaded, no tool started): a driver checks before sending work elsewhere.
    The fields' types have checked the closed choices; this checks the open ones."""
    from looplab.llm import parse_model_spec
    from looplab.tools import BUILTIN_TOOLS

    load_graph_factory(options.graph)
    for spec in filter(None, (options.model, options.critic_model)):
        parse_model_spec(spec)
    FeedbackSpec.parse(options.feedback)
    critic_verifier(options)
    named = (*options.tools, *options.critic_tools, *(options.repair_tools or ()))
    unknown = [t for t in named if t not in BUILTIN_TOOLS]
    if unknown:
        raise ConfigError(f"unknown tool {unknown[0]!r}: the tools are {', '.join(BUILTIN_TOOLS)}")


def check_run_config(config: EvalConfig) -> None:
    """``check_loop_config`` and the run's own open choices (faults): everything a run
    checks before it creates its directory."""
    from looplab.perturb import parse_fault_specs

    check_loop_config(config)
    missing = sorted({f.tool for f in parse_fault_specs(config.faults)} - set(config.tools))
    if missing:
        raise ConfigError(
            f"a fault is set for {', '.join(missing)}, which the generator does not have "
            f"(its tools: {', '.join(config.tools) or 'none'}; add --tools {missing[0]})"
        )


def build_setup(
    options: LoopConfig,
    *,
    seed: int | None = None,
    wrap_model: Callable[[ChatModel], ChatModel] | None = None,
    sandbox: Sandbox | None = None,
) -> tuple[str, GraphFactory, LoopSetup]:
    """The graph's name, its factory and the setup to call it with.

    ``seed`` is the completion seed (None: the backend's default); ``wrap_model``
    wraps each model once it is loaded (the eval runner records every completion
    this way); ``sandbox`` is used instead of building one.
    """
    check_loop_config(options)
    name, factory = load_graph_factory(options.graph)
    wrap = wrap_model or (lambda model: model)
    generator_model = wrap(load_model(options.model))
    critic_spec = options.critic_model or options.model
    critic_model = (
        generator_model if critic_spec == options.model else wrap(load_model(critic_spec))
    )
    verifier = critic_verifier(options)
    # an answer_logprob critic, or a verifier reading that feature, reads the answer's
    # probability off the generator's own call
    wants_logprob = options.critic_confidence == "answer_logprob" or (
        verifier is not None and "answer_logprob" in verifier.features
    )
    completion = CompletionOptions(
        max_tokens=options.max_tokens,
        temperature=options.temperature,
        seed=seed,
        logprobs=0 if wants_logprob else None,
    )
    generator = Generator(
        generator_model,
        make_tools(options.tools),
        syntax=make_syntax(options.tool_syntax),
        options=completion,
    )
    repairer = None
    if options.repair_tools is not None:
        repairer = Generator(
            generator_model,
            make_tools(options.repair_tools),
            syntax=make_syntax(options.tool_syntax),
            options=completion,
        )
    critic_tools = list(options.critic_tools) or (["calc"] if name == "tool_critic" else [])
    critic = Critic(
        critic_model,
        tools=make_tools(critic_tools),
        confidence=options.critic_confidence if verifier is None else "learned",
        verifier=verifier,
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
        repairer=repairer,
        sandbox=sandbox,
        max_iters=options.max_iters,
        max_total_tokens=options.budget,
        width=options.width,
        stop=stop,
        feedback=FeedbackSpec.parse(options.feedback),
        locate=options.locate,
        repair_mode=options.repair_mode,
        finder_style=options.finder_style,
    )
    return name, factory, setup
