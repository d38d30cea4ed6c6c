"""The pieces every report is made of: tables and lines of text, and how numbers are written.

Renderers (``_terminal.py``, ``_html.py``) draw these and nothing else; the
run report, the studies and the CLI's listings all build them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from looplab.metrics import Estimate

__all__ = ["Block", "Table", "Text", "number", "pct"]


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
