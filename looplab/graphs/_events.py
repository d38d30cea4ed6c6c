"""What a streamed loop reports as it runs: one small record per kind of event.

Nodes send them with ``emit``; ``stream_loop`` yields them; ``looplab run``
prints them (``LoopPrinter``). A user's graph may emit the same records.
"""

from __future__ import annotations

from dataclasses import dataclass

from looplab.records import Critique, ToolCall, Vote

__all__ = ["CritiqueEvent", "DecisionEvent", "LoopEvent", "TextEvent", "ToolEvent"]


@dataclass(frozen=True)
class TextEvent:
    """A piece of generated text, as it comes."""

    node: str
    text: str


@dataclass(frozen=True)
class ToolEvent:
    """A tool call the generator made, with its result."""

    node: str
    call: ToolCall


@dataclass(frozen=True)
class CritiqueEvent:
    """A check of an attempt: the critic's, the visible tests', a tool's or an oracle's."""

    node: str
    critique: Critique


@dataclass(frozen=True)
class DecisionEvent:
    """The loop decided: stop (with its reason) or, with no reason, repair."""

    node: str
    stop_reason: str | None
    vote: Vote | None = None
    """The vote behind the decision (self_consistency, debate)."""


LoopEvent = TextEvent | ToolEvent | CritiqueEvent | DecisionEvent
"""Any event a streamed loop yields."""
