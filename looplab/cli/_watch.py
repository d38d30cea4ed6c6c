"""Showing a loop as it runs: generation text, tool calls, verdicts, decisions."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from looplab.graphs import CritiqueEvent, DecisionEvent, LoopEvent, TextEvent, ToolEvent
from looplab.records import Critique, ToolCall

__all__ = ["LoopPrinter"]

_HEADERS = {"generate": "generation", "repair": "repair", "sample": "sample"}


class LoopPrinter:
    """Prints the custom-stream events of ``stream_loop`` to a rich console."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.node: str | None = None
        self.attempt = 0

    def __call__(self, event: LoopEvent) -> None:
        """Print one event."""
        if isinstance(event, TextEvent):
            if event.node != self.node:
                self._header(event.node)
            self.console.print(event.text, end="", markup=False, highlight=False)
        elif isinstance(event, ToolEvent):
            self._tool(event.call)
        elif isinstance(event, CritiqueEvent):
            self._critique(event.critique)
        elif isinstance(event, DecisionEvent):
            reason = event.stop_reason
            text = f"stop: {reason}" if reason else "→ repair"
            self.console.print(Text(text, "bold"))
            self.node = None

    def _header(self, node: str) -> None:
        label = _HEADERS.get(node, node)
        self.console.print()
        self.console.rule(Text(f"{label} {self.attempt}", "bold cyan"), align="left")
        self.attempt += 1
        self.node = node

    def _tool(self, call: ToolCall) -> None:
        if call.ok:
            line = Text.assemble((f"⚙ {call.tool}", "green"), f"({call.input!r}) → {call.output!r}")
        else:
            line = Text.assemble(
                (f"⚙ {call.tool}", "red"), f"({call.input!r}) ✗ {call.problem}: {call.error}"
            )
        self.console.print()
        self.console.print(line, highlight=False)

    def _critique(self, critique: Critique) -> None:
        self.console.print()
        who = "tests" if critique.source == "tests" else f"critic {critique.model}"
        if critique.verdict is None:
            verdict = Text("unparsed", "yellow")
        else:
            colour = {"correct": "green", "incorrect": "red"}.get(critique.verdict, "yellow")
            confidence = "" if critique.confidence is None else f" ({critique.confidence:.2f})"
            verdict = Text(f"{critique.verdict}{confidence}", colour)
        self.console.rule(Text(who, "bold magenta"), align="left")
        self.console.print(Text.assemble("verdict: ", verdict))
        if critique.feedback:
            self.console.print(critique.feedback, markup=False, highlight=False)
        for call in critique.tool_calls:
            self._tool(call)
        self.node = None
