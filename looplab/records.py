"""Pydantic records that every layer of looplab exchanges.

A run is a directory of these records serialised as JSON lines; metrics and
reports are pure functions of them. Records that are stored on their own carry
a ``version`` so that old files can be migrated on load. Later layers add the
task, attempt, critique and trajectory records here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Usage"]


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
