"""Commands about models and tools: doctor, ask, tools, tool."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from looplab.cli import _options as o
from looplab.cli._app import app, cli_command, err, out


@app.command()
@cli_command
def doctor() -> None:
    """Report which model backends, weights and sandbox engines are usable here."""
    from looplab.cli._doctor import run_checks

    checks = run_checks()
    table = Table(title="looplab doctor", show_lines=False)
    for column in ("component", "status", "detail", "to fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        status = Text("ok", "green") if check.ok else Text("missing", "red")
        table.add_row(check.component, status, check.detail, check.hint)
    out.print(table)
    if not all(c.ok for c in checks if c.required):
        raise typer.Exit(1)


@app.command()
@cli_command
def ask(
    prompt: Annotated[str, typer.Argument(help="The user message.")],
    model: o.Model = o.DEFAULTS.model,
    system: Annotated[str | None, typer.Option(help="A system message.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Cap on generated tokens.")] = 256,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0)] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = None,
    record: Annotated[
        str | None, typer.Option(help="Append the completion to this recording (dir or .jsonl).")
    ] = None,
) -> None:
    """Stream one completion of PROMPT from a model."""
    from looplab.llm import CompletionOptions, Message, RecordingModel, load_model

    chat = load_model(model)
    if record:
        chat = RecordingModel(chat, record)
    messages = [Message(role="system", content=system)] if system else []
    messages.append(Message(role="user", content=prompt))
    options = CompletionOptions(max_tokens=max_tokens, temperature=temperature, seed=seed)

    def show(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    completion = chat.complete(messages, options, on_text=show)
    sys.stdout.write("\n")
    from looplab.report import usage_line

    u = completion.usage
    err.print(
        Text(
            f"{completion.model}: {usage_line(u)}, {u.latency_s:.2f} s, "
            f"finish={completion.finish_reason}",
            style="dim",
        ),
        highlight=False,
    )


@app.command("tools")
@cli_command
def list_tools() -> None:
    """List the built-in tools and how the model calls them."""
    from looplab.report import Table, print_blocks
    from looplab.tools import BUILTIN_TOOLS, TagSyntax

    syntax = TagSyntax()
    rows = [
        [name, syntax.render_call(name, "..."), factory().description]
        for name, factory in BUILTIN_TOOLS.items()
    ]
    print_blocks([Table("looplab tools", ["name", "call", "description"], rows)], out)


@app.command("tool")
@cli_command
def run_tool(
    name: Annotated[str, typer.Argument(help="Tool name, e.g. calc or browse.")],
    text: Annotated[str, typer.Argument(help="The input, exactly as a model would write it.")],
    allow: Annotated[
        list[str] | None,
        typer.Option(help="browse: an IP or network[:port] to allow though not public."),
    ] = None,
) -> None:
    """Run one tool on one input, as a model's call would: result on stdout (exit 0),
    error on stderr (exit 1)."""
    from looplab.tools import Browser, make_tools

    tool = make_tools([name])[name]
    if allow and name == "browse":
        tool = Browser(allow=allow)
    result = tool.run(text)
    if result.ok:
        sys.stdout.write(result.output + "\n")
        return
    err.print(Text.assemble((f"{name} error:", "red"), f" {result.error}"))
    raise typer.Exit(1)
