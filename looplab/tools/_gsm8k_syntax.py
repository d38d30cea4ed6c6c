"""GSM8K's calculator convention as a tool syntax: ``<<48/2=24>>``.

GSM8K's worked solutions annotate every calculation: the model writes
``<<EXPR=``, a calculator supplies the result and the closing ``>>``. Here
the decode loop pauses at ``>>`` (a stop sequence that does not occur in
ordinary prose, unlike ``=``); whatever the model wrote after the ``=`` --
its own guess of the result -- is cut off (kept in
``ToolCall.discarded_text``) and replaced by the calculator's. So the text
reads exactly like a GSM8K solution, with every result computed.

The convention has one tool, the calculator; the expression is everything
between ``<<`` and the first ``=``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from looplab.errors import ConfigError
from looplab.records import ToolSyntaxName
from looplab.tools._syntax import CallMatch, TagSyntax, ToolSyntax

__all__ = ["SYNTAXES", "Gsm8kSyntax", "make_syntax"]


@dataclass(frozen=True)
class Gsm8kSyntax:
    """``<<EXPR=RESULT>>`` calls of the calculator (named ``tool``)."""

    tool: str = "calc"
    prompt: str = "tools_system_gsm8k"
    """The system prompt describing this syntax (package data)."""

    def open_tag(self, name: str) -> str:
        return "<<"

    def close_tag(self, name: str) -> str:
        return "="

    def stop_sequences(self, names: Collection[str]) -> tuple[str, ...]:
        return (">>",) if self.tool in names else ()

    def render_call(self, name: str, text: str) -> str:
        return f"<<{text}="

    def render_result(self, output: str) -> str:
        return f"{output}>>"

    def render_error(self, message: str) -> str:
        return f"error: {message}>>"

    def find_call(self, text: str, names: Collection[str], start: int = 0) -> CallMatch | None:
        """The first ``<<EXPR=`` at or after ``start`` (unclosed: no ``=`` yet)."""
        open_at = text.find("<<", start)
        if open_at == -1:
            return None
        body_start = open_at + 2
        equals = text.find("=", body_start)
        closing = text.find(">>", body_start)
        if equals == -1 or (closing != -1 and closing < equals):
            if closing != -1:  # "<<...>>" with no "=": not a call; look further on
                return self.find_call(text, names, closing + 2)
            return CallMatch(
                self.tool, text[body_start:], open_at, len(text), False, self._known(names)
            )
        body = text[body_start:equals]
        return CallMatch(self.tool, body, open_at, equals + 1, True, self._known(names))

    def _known(self, names: Collection[str]) -> bool:
        return self.tool in names

    def strip_partial_close(self, body: str, name: str) -> str:
        return body

    def nested_call(self, body: str, names: Collection[str]) -> str | None:
        return self.tool if "<<" in body else None


SYNTAXES: dict[ToolSyntaxName, ToolSyntax] = {"tags": TagSyntax(), "gsm8k": Gsm8kSyntax()}
"""The built-in tool syntaxes by name (``--tool-syntax``)."""


def make_syntax(name: str) -> ToolSyntax:
    """The built-in tool syntax called ``name`` (a clear error for any other)."""
    if name not in SYNTAXES:
        raise ConfigError(f"unknown tool syntax {name!r}: use {' or '.join(SYNTAXES)}")
    return SYNTAXES[name]
