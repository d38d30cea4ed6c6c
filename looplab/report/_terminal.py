"""The report in the terminal: ``run_report``'s blocks drawn with rich."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from looplab.report._blocks import Block, Table

if TYPE_CHECKING:
    from looplab.metrics import RunMetrics

__all__ = ["print_blocks", "print_report"]

_TONES = {"alert": "bold red", "warning": "bold yellow", "note": "dim", "plain": ""}


def print_blocks(blocks: Iterable[Block], console: Console) -> None:
    """Draw tables and text: the row's name (first column) is never broken."""
    for block in blocks:
        if isinstance(block, Table):
            table = RichTable(title=block.title)
            for i, column in enumerate(block.columns):
                cells = [row[i] for row in block.rows if i < len(row) and row[i]]
                numeric = i > 0 and all(_looks_numeric(cell) for cell in cells)
                table.add_column(
                    column, overflow="fold", no_wrap=i == 0, justify="right" if numeric else "left"
                )
            for row in block.rows:
                table.add_row(*(escape(cell) for cell in row))
            console.print(table)
            if block.note:
                console.print(block.note, style="dim", highlight=False, markup=False)
            continue
        style = _TONES[block.tone]
        if block.title:
            console.print(f"[bold]{escape(block.title)}[/bold]", highlight=False)
        for line in block.lines:
            text = f"  {line}" if block.title else line
            console.print(text, style=style or None, highlight=False, markup=False)


def _looks_numeric(cell: str) -> bool:
    return cell[0].isdigit() or cell[0] in "-+." or cell.startswith("n/a")


def print_report(metrics: RunMetrics, console: Console, *, title: str = "") -> None:
    """Print a run's report: every table and line of ``run_report``."""
    from looplab.report._model import run_report

    console.rule(f"[bold]looplab report[/bold] {escape(title)}")
    report = run_report(metrics)
    print_blocks([*report.summary, *report.sections], console)
