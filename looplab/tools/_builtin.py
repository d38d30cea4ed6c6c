"""The built-in tools by name, for the CLI and configs (``--tools calc,browse``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from looplab.errors import ConfigError
from looplab.tools._browser import Browser
from looplab.tools._calculator import Calculator
from looplab.tools._protocol import Tool, ToolRegistry
from looplab.tools._python import PythonTool

__all__ = ["BUILTIN_TOOLS", "make_tools"]

BUILTIN_TOOLS: dict[str, Callable[[], Tool]] = {
    "calc": Calculator,
    "python": PythonTool,
    "browse": Browser,
}
"""Name -> factory of every tool looplab ships."""


def make_tools(names: Iterable[str]) -> ToolRegistry:
    """A registry of the named built-in tools, in the order given."""
    registry = ToolRegistry()
    for name in names:
        name = name.strip()
        if not name:
            continue
        if name not in BUILTIN_TOOLS:
            known = ", ".join(BUILTIN_TOOLS)
            raise ConfigError(f"unknown tool {name!r}: the tools are {known}")
        registry.add(BUILTIN_TOOLS[name]())
    return registry
