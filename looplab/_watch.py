"""Showing a loop as it runs: generation text, tool calls, verdicts, decisions."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from looplab.records import Critique, ToolCall

__all__ = ["LoopPrinter"]

_HEADERS = {"generate": "generation", "repair": "repair", "sample": "sample"}


class LoopPrinter:
    """Prints the custom-stream events of ``stream_loop`` to a rich console."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.node: str | None = None
        self.attempt = 0

    def __call__(self, event: dict[str, Any]) -> None:
        kind, node = event.get("type"), event.get("node", "")
        if kind == "text":
            if node != self.node:
                self._header(node)
            self.console.print(event["text"], end="", markup=False, highlight=False)
        elif kind == "tool":
            self._tool(event["call"])
        elif kind == "critique":
            self._critique(event["critique"])
        elif kind == "decision":
            reason = event.get("stop_reason")
            text = f"stop: {reason}" if reason else "→ repair"
            self.console.print(f"[bold]{text}[/bold]")
            self.node = None

    def _header(self, node: str) -> None:
        label = _HEADERS.get(node, node)
        self.console.print()
        self.console.rule(f"[bold cyan]{label} {self.attempt}[/bold cyan]", align="left")
        self.attempt += 1
        self.node = node

    def _tool(self, call: ToolCall) -> None:
        if call.ok:
            line = f"[green]⚙ {call.tool}[/green]({call.input!r}) → {call.output!r}"
        else:
            line = f"[red]⚙ {call.tool}[/red]({call.input!r}) ✗ {call.problem}: {call.error}"
        self.console.print()
        self.console.print(line, highlight=False)

    def _critique(self, critique: Critique) -> None:
        self.console.print()
        who = "tests" if critique.source == "tests" else f"critic {critique.model}"
        if critique.verdict is None:
            verdict = "[yellow]unparsed[/yellow]"
        else:
            colour = {"correct": "green", "incorrect": "red"}.get(critique.verdict, "yellow")
            confidence = "" if critique.confidence is None else f" ({critique.confidence:.2f})"
            verdict = f"[{colour}]{critique.verdict}{confidence}[/{colour}]"
        self.console.rule(f"[bold magenta]{who}[/bold magenta]", align="left")
        self.console.print(f"verdict: {verdict}", highlight=False)
        if critique.feedback:
            self.console.print(critique.feedback, markup=False, highlight=False)
        for call in critique.tool_calls:
            self._tool(call)
        self.node = None
