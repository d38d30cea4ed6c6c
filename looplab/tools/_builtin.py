"""The built-in tools by name, for the CLI and configs (``--tools calc,browse``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from looplab.errors import ConfigError
from looplab.tools._protocol import Tool, ToolRegistry

__all__ = ["BUILTIN_TOOLS", "make_tools"]


# Each tool's module is imported when the tool is made: the calculator's sympy alone
# costs ~0.3 s, which a run that uses no calculator should not pay at start-up.
def _calculator() -> Tool:
    from looplab.tools._calculator import Calculator

    return Calculator()


def _python() -> Tool:
    from looplab.tools._python import PythonTool

    return PythonTool()


def _browser() -> Tool:
    from looplab.tools._browser import Browser
    from looplab.tools._site import SITE_HOST, serve_corpus

    # the invented corpus of the browse task family: served locally once a URL needs it
    return Browser(sites={SITE_HOST: serve_corpus})


BUILTIN_TOOLS: dict[str, Callable[[], Tool]] = {
    "calc": _calculator,
    "python": _python,
    "browse": _browser,
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
