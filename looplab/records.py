"""Pydantic records that every layer of looplab exchanges.

A run is a directory of these records serialised as JSON lines; metrics and
reports are pure functions of them. Records that are stored on their own carry
a ``version`` so that old files can be migrated on load. Later layers add the
task, attempt, critique and trajectory records here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Generation", "ToolCall", "ToolCallProblem", "Usage"]


class Usage(BaseModel):
    """Token counts and wall time of one or more model calls.

    Usages add up with ``+`` so that an attempt, an iteration or a whole run
    can report what it cost.
    """

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    """Tokens the model read (the rendered prompt, including any prefilled text)."""
    completion_tokens: int = 0
    """Tokens the model generated."""
    latency_s: float = 0.0
    """Wall-clock seconds spent waiting for the model, summed over calls."""
    calls: int = Field(default=0, ge=0)
    """How many model calls these numbers cover."""
    unreported_calls: int = Field(default=0, ge=0)
    """Calls whose server reported no token counts (some servers omit them when
    streaming). Their tokens are missing from the sums above, never guessed."""

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens: the budget unit of pass@t comparisons."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            latency_s=self.latency_s + other.latency_s,
            calls=self.calls + other.calls,
            unreported_calls=self.unreported_calls + other.unreported_calls,
        )


ToolCallProblem = Literal[
    "unknown_tool", "empty", "nested", "unclosed", "limit", "unresumable", "execution"
]
"""Why a tool call failed: a malformed call (all but ``execution``) or the tool's own error."""


class ToolCall(BaseModel):
    """One tool call the model wrote, and what the runtime answered."""

    model_config = ConfigDict(frozen=True)

    version: int = 1
    """Record format version."""
    tool: str
    """The tool's name as the model wrote it (it may name no tool)."""
    input: str
    """The call's body as the model wrote it (fences stripped)."""
    ok: bool
    """True when the tool ran and returned an output."""
    output: str | None = None
    """The text spliced back into the model's text when ``ok`` (after trimming)."""
    error: str | None = None
    """The error message the model saw when not ``ok``."""
    problem: ToolCallProblem | None = None
    """What went wrong when not ``ok``."""
    ms: float = 0.0
    """Milliseconds the tool took (0 for calls rejected before running)."""
    discarded_text: str = ""
    """Text the model wrote after the call's closing tag (a provider that ignored the stop
    sequence); cut off and never shown to the model again."""


class Generation(BaseModel):
    """One answer from the decode loop: the model's text with tool results spliced in."""

    model_config = ConfigDict(frozen=True)

    version: int = 1
    """Record format version."""
    text: str
    """The whole answer as the model saw it: its own text, calls and the spliced results."""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    """Every call the model wrote, in order, including malformed ones."""
    usage: Usage = Field(default_factory=Usage)
    """Summed over every model call of this answer."""
    finish_reason: str = "stop"
    """``stop``, ``length`` (token budget spent) or ``tool_limit`` (too many rounds)."""
    model: str = ""
    """The model that wrote it."""
    continued: bool = True
    """True when results were spliced by true continuation, False when by new turns."""

    @property
    def tool_errors(self) -> int:
        """How many calls ended in an error the model saw."""
        return sum(not call.ok for call in self.tool_calls)
