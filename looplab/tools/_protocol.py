"""What a tool is: text in, text out, never an exception."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from looplab.errors import ConfigError, ToolError

__all__ = ["Tool", "ToolExample", "ToolRegistry", "ToolResult", "TextTool"]


@dataclass(frozen=True)
class ToolResult:
    """What one run of a tool gave: an output, or an error the model will see."""

    ok: bool
    output: str = ""
    error: str = ""
    elapsed_s: float = 0.0
    fault: str | None = None
    """Set by a fault injector (``looplab.perturb``): this result is wrong on purpose."""
    true_output: str | None = None
    """With a fault: the real result (its output, or ``error: ...``)."""

    @classmethod
    def failure(cls, error: str, elapsed_s: float = 0.0) -> ToolResult:
        """A failed call's result: the error the model will read."""
        return cls(ok=False, error=error, elapsed_s=elapsed_s)


@dataclass(frozen=True)
class ToolExample:
    """A worked example of the tool in use, shown to the model as an earlier chat turn.

    A small model writes correct calls only after seeing a few of these.
    """

    question: str
    input: str
    output: str
    answer: str
    """What the assistant says after the result."""
    final: str | None = None
    """The bare final answer, for tasks that end with a line ``Answer: X``."""


@runtime_checkable
class Tool(Protocol):
    """A tool the model calls by writing its name as a tag: ``<calc>17*23</calc>``.

    ``run`` receives exactly the text the model wrote and must return a
    ``ToolResult`` for any input at all -- hostile input is the normal case.
    """

    name: str
    description: str
    examples: tuple[ToolExample, ...]

    def run(self, text: str) -> ToolResult: ...

    async def arun(self, text: str) -> ToolResult: ...


class TextTool(ABC):
    """Base for tools written as one function ``call(text) -> str``.

    ``call`` raises ``ToolError`` for input it refuses; ``run`` times it and
    turns that, or any unexpected exception, into an error result, so a tool
    can never crash the decode loop.
    """

    name: str = ""
    description: str = ""
    examples: tuple[ToolExample, ...] = ()

    @abstractmethod
    def call(self, text: str) -> str:
        """The tool's output for ``text``; raise ToolError for input it refuses."""

    def run(self, text: str) -> ToolResult:
        started = time.perf_counter()
        try:
            output = self.call(text)
        except ToolError as exc:
            return ToolResult.failure(str(exc), time.perf_counter() - started)
        except Exception as exc:  # a tool bug must reach the record, not crash the loop
            message = f"internal error in {self.name}: {type(exc).__name__}: {exc}"
            return ToolResult.failure(message, time.perf_counter() - started)
        return ToolResult(ok=True, output=output, elapsed_s=time.perf_counter() - started)

    async def arun(self, text: str) -> ToolResult:
        return await asyncio.to_thread(self.run, text)


class ToolRegistry:
    """Tools by name, in the order they were added (the order shown to the model)."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        """Add a tool (its name must be new)."""
        if not tool.name.isidentifier():
            raise ConfigError(f"tool name {tool.name!r} must be an identifier (it becomes a tag)")
        if tool.name in self._tools:
            raise ConfigError(f"a tool named {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        """The tool called ``name``, or None."""
        return self._tools.get(name)

    def __getitem__(self, name: str) -> Tool:
        if name not in self._tools:
            raise ConfigError(f"no tool named {name!r}; the tools are: {', '.join(self._tools)}")
        return self._tools[name]

    @property
    def names(self) -> tuple[str, ...]:
        """The tools' names, in the order they were added."""
        return tuple(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools
