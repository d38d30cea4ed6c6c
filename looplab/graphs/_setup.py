"""Building a LoopSetup from the CLI's (or a config's) plain options."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from looplab.agents import Critic, Generator
from looplab.graphs._run import GraphFactory, load_graph_factory
from looplab.graphs._state import LoopSetup
from looplab.llm import CompletionOptions, load_model
from looplab.tools import make_tools

__all__ = ["SetupOptions", "build_setup"]


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
    max_iters: int = 3
    max_tokens: int = 256
    """Per answer (all its tool rounds together)."""
    temperature: float = 0.0
    seed: int | None = None
    sandbox: str = "auto"
    """Backend where test_repair runs the visible tests."""


def build_setup(options: SetupOptions) -> tuple[str, GraphFactory, LoopSetup]:
    """The graph's name, its factory and the setup to call it with."""
    name, factory = load_graph_factory(options.graph)
    generator_model = load_model(options.model)
    critic_spec = options.critic_model or options.model
    critic_model = generator_model if critic_spec == options.model else load_model(critic_spec)
    completion = CompletionOptions(
        max_tokens=options.max_tokens, temperature=options.temperature, seed=options.seed
    )
    generator = Generator(generator_model, make_tools(options.tools), options=completion)
    critic_tools = list(options.critic_tools) or (["calc"] if name == "tool_critic" else [])
    critic = Critic(critic_model, tools=make_tools(critic_tools))
    sandbox = None
    if name == "test_repair":
        from looplab.sandbox import make_sandbox

        sandbox = make_sandbox(options.sandbox)
    setup = LoopSetup(
        generator=generator, critic=critic, sandbox=sandbox, max_iters=options.max_iters
    )
    return name, factory, setup
