"""The pieces every report is made of: tables and lines of text, and how numbers are written.

Renderers (``_terminal.py``, ``_html.py``) draw these and nothing else; the
run report, the studies and the CLI's listings all build them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from looplab.metrics import Estimate
    from looplab.records import Usage

__all__ = [
    "Block",
    "Table",
    "Text",
    "number",
    "pct",
    "printable",
    "printable_same_length",
    "usage_line",
]


@dataclass
class Table:
    """A titled table of formatted cells: a report's section or a study's summary."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""
    """A line shown under the table (what its columns mean)."""


@dataclass
class Text:
    """Lines of prose; ``tone`` says how they are shown, ``title`` heads them."""

    lines: list[str]
    tone: Literal["plain", "alert", "warning", "note"] = "plain"
    """alert: results are not what they seem (oracle, failures); warning: perturbed;
    note: how to read what follows."""
    title: str = ""


Block = Table | Text
"""One piece of a report."""


def pct(estimate: Estimate | float | None) -> str:
    """A share as a percentage, with its interval when it has one: ``41.0% [31.0%, 51.0%]``."""
    if isinstance(estimate, float):
        return f"{estimate:.1%}"
    if estimate is None or estimate.value is None:
        return "n/a"
    if estimate.low is None or estimate.high is None:
        return f"{estimate.value:.1%}"
    return f"{estimate.value:.1%} [{estimate.low:.1%}, {estimate.high:.1%}]"


def number(estimate: Estimate | None) -> str:
    """A number that is not a share (AUROC, ECE, Brier), with its interval."""
    return "n/a" if estimate is None else str(estimate)


_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufff9-\ufffb]"
)
"""What a terminal acts on rather than shows: C0 controls but newline and tab (ESC starts
every CSI and OSC sequence: colours, titles, clipboard writes, screen clears), DEL, C1
controls (0x9b is a one-byte CSI, 0x9d an OSC) and the bidirectional overrides that
reorder what is shown."""


def printable(text: str) -> str:
    """``text`` safe to show in a terminal: every control character written as its escape
    (``\\x1b``), so nothing is acted on and nothing is lost."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def printable_same_length(text: str) -> str:
    """``printable`` for styled text, whose spans index its characters: each control
    character becomes one U+FFFD."""
    return _CONTROL.sub("\ufffd", text)


def usage_line(u: Usage) -> str:
    """Token counts as one line, saying which were estimated or are missing: a server
    that reported no usage is never shown as 0 tokens measured."""
    line = (
        f"{u.prompt_tokens:,} prompt + {u.completion_tokens:,} completion tokens in {u.calls} calls"
    )
    if u.estimated_calls:
        line += (
            f" (ESTIMATED for {u.estimated_calls} of them with the model's tokenizer: "
            "the server reported no usage)"
        )
    if u.unreported_calls:
        line += (
            f" (MISSING for {u.unreported_calls} of them: the server reported no usage "
            "and its tokenizer is unknown)"
        )
    return line
