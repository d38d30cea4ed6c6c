"""Commands about loops: run, graph list, graph show."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.text import Text

from looplab.cli import _options as o
from looplab.cli._app import HELP_OPTIONS, app, cli_command, out
from looplab.errors import LooplabError
from looplab.files import write_file


@app.command()
@cli_command
def run(
    prompt: Annotated[str, typer.Argument(help="The task to solve.")],
    graph: o.Graph = o.DEFAULTS.graph,
    model: o.Model = o.DEFAULTS.model,
    critic_model: o.CriticModel = o.DEFAULTS.critic_model,
    tools: o.Tools = None,
    critic_tools: o.CriticTools = None,
    repair_tools: o.RepairTools = None,
    repair_mode: o.RepairModeFlag = o.DEFAULTS.repair_mode,
    critic_confidence: o.CriticConfidence = o.DEFAULTS.critic_confidence,
    max_iters: o.MaxIters = o.DEFAULTS.max_iters,
    width: o.Width = o.DEFAULTS.width,
    budget: o.Budget = o.DEFAULTS.budget,
    max_tokens: o.MaxTokens = o.DEFAULTS.max_tokens,
    temperature: o.Temperature = o.DEFAULTS.temperature,
    feedback: o.Feedback = o.DEFAULTS.feedback,
    stop: o.Stop = o.DEFAULTS.stop,
    tool_syntax: o.ToolSyntax = o.DEFAULTS.tool_syntax,
    sandbox: o.Sandbox = o.DEFAULTS.sandbox,
    family: Annotated[
        str,
        typer.Option(
            help="The answer convention, a task family: custom ('Answer: X'), math "
            "(\\boxed{}), choice, qa, code, ... (looplab tasks list)."
        ),
    ] = "custom",
    tests: Annotated[
        str | None, typer.Option(help="test_repair: a file of visible tests, check(candidate).")
    ] = None,
    entry_point: Annotated[str | None, typer.Option(help="test_repair: function name.")] = None,
    save: Annotated[str | None, typer.Option(help="Write the trajectory as JSON here.")] = None,
) -> None:
    """Run a critique loop on PROMPT and watch each step as it happens."""
    values = o.config_values(locals())  # the parameters named like config fields
    from pathlib import Path

    from looplab.cli._watch import LoopPrinter
    from looplab.errors import ConfigError
    from looplab.graphs import stream_loop
    from looplab.records import TaskView
    from looplab.report import usage_line
    from looplab.runs import LoopConfig, build_setup, validated

    if save:
        from looplab.files import check_writable

        check_writable(save, "--save")
    visible = None
    if tests is not None:
        if not Path(tests).is_file():
            raise ConfigError(f"no tests file {tests}")
        visible = Path(tests).read_text(encoding="utf-8")
    from looplab.answers import ANSWER_KINDS

    if family not in ANSWER_KINDS:
        raise ConfigError(f"unknown family {family!r}: use one of {', '.join(ANSWER_KINDS)}")
    options = validated(LoopConfig, **values)
    name, factory, setup = build_setup(options)
    task = TaskView(
        id="prompt", prompt=prompt, family=family, visible_tests=visible, entry_point=entry_point
    )
    printer = LoopPrinter(out)
    trajectory = None
    for kind, payload in stream_loop(factory(setup), task):
        if kind == "event":
            printer(payload)
        else:
            trajectory = payload
    assert trajectory is not None
    final = trajectory.final
    u = trajectory.usage
    out.print()
    out.rule(Text("result", style="bold"), align="left")
    out.print(
        f"graph {name}: {len(trajectory.attempts)} attempt(s), stop: {trajectory.stop_reason}; "
        f"final answer: {final.answer if final else None!r}; " + usage_line(u),
        highlight=False,
    )
    if save:
        write_file(save, trajectory.model_dump_json(indent=2))
        out.print(f"trajectory saved to {save}")


graph_app = typer.Typer(help="The prebuilt graphs.", context_settings=HELP_OPTIONS)
app.add_typer(graph_app, name="graph")


@graph_app.command("list")
@cli_command
def graph_list() -> None:
    """List the prebuilt graphs and the paper each follows."""
    from looplab.graphs import GRAPHS
    from looplab.report import Table, print_blocks

    rows = [
        [name, plain_text((f.__doc__ or "").strip().splitlines()[0])] for name, f in GRAPHS.items()
    ]
    print_blocks([Table("looplab graphs", ["name", "what it is"], rows)], out)


@graph_app.command("show")
@cli_command
def graph_show(
    name: Annotated[str, typer.Argument(help="A prebuilt graph or FILE.py:FUNCTION.")],
) -> None:
    """Print a graph's Mermaid diagram (as LangGraph draws it)."""
    from looplab.agents import Critic, Generator
    from looplab.graphs import LoopSetup, load_graph_factory
    from looplab.sandbox import ProcessSandbox
    from looplab.tools import Calculator

    _, factory = load_graph_factory(name)
    model = _DrawingOnly()
    setup = LoopSetup(
        generator=Generator(model),
        critic=Critic(model, tools=[Calculator()]),
        sandbox=ProcessSandbox(),
    )
    sys.stdout.write(factory(setup).get_graph().draw_mermaid())


def plain_text(doc: str) -> str:
    """A docstring's line as terminal text: reST roles and literals (``x``,
    :class:`X`) shown as their text."""
    import re

    doc = re.sub(r":\w+:`~?([^`]+)`", r"\1", doc)
    return re.sub(r"``([^`]+)``", r"\1", doc)


class _DrawingOnly:
    """Stands in for a model while a graph is only drawn: building one calls no model."""

    name = "diagram"
    supports_continuation = True

    def complete(self, *args: Any, **kwargs: Any) -> Any:
        raise LooplabError("a graph being drawn called its model")

    acomplete = complete
