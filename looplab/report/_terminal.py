"""The report in the terminal: ``run_report``'s blocks drawn with rich."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text as RichText

from looplab.report._blocks import Block, Table, printable, printable_same_length

if TYPE_CHECKING:
    from looplab.metrics import RunMetrics

__all__ = ["SafeConsole", "print_blocks", "print_report"]

_TONES = {"alert": "bold red", "warning": "bold yellow", "note": "dim", "plain": ""}


class SafeConsole(Console):
    """A console for text from anywhere -- a model, a server, a task file, a path.

    Strings are never read as markup (``[/x]`` is text, not a crash) and every
    control character is shown as its escape, never sent to the terminal (an
    escape sequence in a model's answer cannot set a title, write the clipboard or
    clear the screen). Styling goes through ``rich.text.Text`` and ``style=``."""

    def __init__(self, **options) -> None:
        options.setdefault("markup", False)
        options.setdefault("highlight", False)
        super().__init__(**options)

    def print(self, *objects, **options) -> None:  # type: ignore[override]
        """Print ``objects`` with every string and styled text made printable."""
        options["markup"] = False
        super().print(*(_safe(o) for o in objects), **options)

    def rule(self, title="", **options) -> None:  # type: ignore[override]
        """A rule whose title is made printable."""
        super().rule(_safe(title), **options)


def _safe(value):
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, RichText):
        made = value.copy()
        made.plain = printable_same_length(value.plain)
        return made
    return value


def print_blocks(blocks: Iterable[Block], console: Console) -> None:
    """Draw tables and text: the row's name (first column) is never broken."""
    for block in blocks:
        if isinstance(block, Table):
            table = RichTable(title=RichText(printable(block.title)) if block.title else None)
            for i, column in enumerate(block.columns):
                cells = [row[i] for row in block.rows if i < len(row) and row[i]]
                numeric = i > 0 and all(_looks_numeric(cell) for cell in cells)
                table.add_column(
                    RichText(printable(column)),
                    overflow="fold",
                    no_wrap=i == 0,
                    justify="right" if numeric else "left",
                )
            for row in block.rows:
                table.add_row(*(RichText(printable(cell)) for cell in row))
            console.print(table)
            if block.note:
                console.print(printable(block.note), style="dim", highlight=False, markup=False)
            continue
        style = _TONES[block.tone]
        if block.title:
            console.print(RichText(printable(block.title), style="bold"), highlight=False)
        for line in block.lines:
            text = f"  {line}" if block.title else line
            console.print(printable(text), style=style or None, highlight=False, markup=False)


def _looks_numeric(cell: str) -> bool:
    return cell[0].isdigit() or cell[0] in "-+." or cell.startswith("n/a")


def print_report(
    metrics: RunMetrics, console: Console, *, title: str = "", header: list[Block] = ()
) -> None:
    """Print a run's report: ``header`` (what the run is: unfinished, a study's arm),
    then every table and line of ``run_report``."""
    from looplab.report._model import run_report

    console.rule(RichText.assemble(("looplab report", "bold"), " " + printable(title)))
    report = run_report(metrics)
    print_blocks([*header, *report.summary, *report.sections], console)
