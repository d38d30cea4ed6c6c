"""How a tool call and its result look in the model's text.

The default is one XML-like tag per tool, answered by a result or error tag::

    <calc>17*23</calc><result>391</result>
    <calc>17/0</calc><error>division by zero</error>

A body may be fenced with triple backticks; then the call ends at the first
closing tag *after* the closing fence, so code that contains the closing tag
as a string is still one call.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

__all__ = ["CallMatch", "TagSyntax", "ToolSyntax", "strip_fences"]

_OPEN_TAG = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)>")
_FENCE = "```"

# Tags a model writes in ordinary prose or markup: never taken for a tool call.
_PROSE_TAGS = frozenset(
    (
        "a b i u p s q em strong code pre br hr div span sup sub li ul ol table tr td th "
        "h1 h2 h3 h4 h5 h6 html head body title blockquote small big tt kbd var samp mark "
        "think thinking answer reasoning step"
    ).split()
)


@dataclass(frozen=True)
class CallMatch:
    """The first tool call found in a piece of text."""

    name: str
    """The tag's name as written."""
    body: str
    """What stands between the tags (or after the open tag, when unclosed)."""
    start: int
    """Index of the opening tag."""
    end: int
    """Index just past the closing tag, or the end of the text when unclosed."""
    closed: bool
    """The closing tag is in the text (if not, a stop sequence may have eaten it)."""
    known: bool
    """The name is one of the registered tools."""
    fence_open: bool = False
    """The body opened a ``` fence that is not closed yet."""


def strip_fences(body: str) -> str:
    """The code inside a fenced body, or the body itself, trimmed.

    >>> strip_fences("```python\\nprint(1)\\n```")
    'print(1)'
    >>> strip_fences(" 17*23 ")
    '17*23'
    """
    text = body.strip()
    if text.startswith(_FENCE):
        text = text[len(_FENCE) :]
        first_line, newline, rest = text.partition("\n")
        if newline and (not first_line.strip() or first_line.strip().isidentifier()):
            text = rest  # drop a language tag such as ```python
        if text.rstrip().endswith(_FENCE):
            text = text.rstrip()[: -len(_FENCE)]
    return text.strip()


class ToolSyntax(Protocol):
    """How calls and results are written; the decode loop works with any syntax like this."""

    prompt: str
    """The system prompt (package data) that describes the syntax to the model."""

    def open_tag(self, name: str) -> str:
        """What starts a call of tool ``name``."""
        ...

    def close_tag(self, name: str) -> str:
        """What ends a call of tool ``name`` (where generation pauses)."""
        ...

    def stop_sequences(self, names: Collection[str]) -> tuple[str, ...]:
        """Where generation should pause for the tools ``names``."""
        ...

    def render_call(self, name: str, text: str) -> str:
        """A call of ``name`` with input ``text``, as the model writes it."""
        ...

    def render_result(self, output: str) -> str:
        """A tool's output, as spliced into the text after its call."""
        ...

    def render_error(self, message: str) -> str:
        """A failed call's error, as spliced into the text after its call."""
        ...

    def find_call(self, text: str, names: Collection[str], start: int = 0) -> CallMatch | None:
        """The first call in ``text[start:]``, found after the fact, or None."""
        ...

    def strip_partial_close(self, body: str, name: str) -> str:
        """``body`` without a half-written closing tag at its end."""
        ...

    def nested_call(self, body: str, names: Collection[str]) -> str | None:
        """The name of a tool called inside ``body`` (an error: calls do not nest), or None."""
        ...


@dataclass(frozen=True)
class TagSyntax:
    """One tag per tool: ``<name>input</name>``; results in ``<result>``, errors in ``<error>``."""

    result_tag: str = "result"
    error_tag: str = "error"
    prompt: str = "tools_system"
    """The system prompt describing this syntax (package data)."""

    def open_tag(self, name: str) -> str:
        return f"<{name}>"

    def close_tag(self, name: str) -> str:
        return f"</{name}>"

    def stop_sequences(self, names: Collection[str]) -> tuple[str, ...]:
        """Where generation should pause: the closing tag of every tool."""
        return tuple(self.close_tag(n) for n in names)

    def render_call(self, name: str, text: str) -> str:
        return f"{self.open_tag(name)}{text}{self.close_tag(name)}"

    def render_result(self, output: str) -> str:
        return f"<{self.result_tag}>{output}</{self.result_tag}>"

    def render_error(self, message: str) -> str:
        return f"<{self.error_tag}>{message}</{self.error_tag}>"

    def find_call(self, text: str, names: Collection[str], start: int = 0) -> CallMatch | None:
        """The first call in ``text[start:]``: a known tool's tag, or an unknown tag used like one.

        An unknown name counts only when its closing tag follows and it is not
        a tag of ordinary prose (``<b>``, ``<code>``, ...) or a result tag.
        """
        for match in _OPEN_TAG.finditer(text, start):
            name = match.group(1)
            body_start = match.end()
            if name in names:
                return self._known_call(text, name, match.start(), body_start)
            if name in (self.result_tag, self.error_tag) or name.lower() in _PROSE_TAGS:
                continue
            close = text.find(self.close_tag(name), body_start)
            if close != -1:
                end = close + len(self.close_tag(name))
                body = text[body_start:close]
                return CallMatch(name, body, match.start(), end, closed=True, known=False)
        return None

    def _known_call(self, text: str, name: str, start: int, body_start: int) -> CallMatch:
        close_tag = self.close_tag(name)
        search_from = body_start
        fenced = text[body_start:].lstrip().startswith(_FENCE)
        if fenced:
            fence_start = text.index(_FENCE, body_start) + len(_FENCE)
            fence_end = text.find(_FENCE, fence_start)
            if fence_end == -1:
                body = text[body_start:]
                return CallMatch(name, body, start, len(text), False, True, fence_open=True)
            search_from = fence_end + len(_FENCE)
        close = text.find(close_tag, search_from)
        if close == -1:
            return CallMatch(name, text[body_start:], start, len(text), closed=False, known=True)
        end = close + len(close_tag)
        return CallMatch(name, text[body_start:close], start, end, closed=True, known=True)

    def strip_partial_close(self, body: str, name: str) -> str:
        """Remove a half-written closing tag (``</cal``) that a stopped model left at the end."""
        close_tag = self.close_tag(name)
        for size in range(len(close_tag) - 1, 1, -1):
            if body.endswith(close_tag[:size]):
                return body[:-size]
        return body

    def nested_call(self, body: str, names: Collection[str]) -> str | None:
        """The name of a tool whose tag opens inside ``body``, if any."""
        for match in _OPEN_TAG.finditer(body):
            if match.group(1) in names:
                return match.group(1)
        return None
