"""Progress of a run: a live bar on a terminal, a plain line every few seconds in a log.

When stderr is not a terminal (CI, ``nohup``, ``2> log``) a bar cannot redraw, so it
would sit at its first frame for as long as the run takes; a line every
``LINE_EVERY_S`` says instead that the run is alive: tasks done, time spent, time left.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from rich.console import Console

__all__ = ["LINE_EVERY_S", "RunProgress"]

LINE_EVERY_S = 10.0
"""How often a run not on a terminal prints its progress line."""


class RunProgress:
    """``start(done, total)``, ``update(done, status)``, ``stop()``: drawn as a bar on a
    terminal, printed as a line every ``every_s`` seconds otherwise."""

    def __init__(self, console: Console, label: str, *, every_s: float = LINE_EVERY_S) -> None:
        self.console = console
        self.label = label
        self.every_s = every_s
        self.done = self.total = self.first = 0
        self.status = ""
        self.started_at = 0.0
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar = None

    @property
    def started(self) -> bool:
        """Whether ``start`` was called (a run that failed in its set-up never draws)."""
        return self.started_at > 0.0

    def start(self, done: int, total: int) -> None:
        """The run is set up: ``done`` of ``total`` results are already there."""
        self.done, self.first, self.total = done, done, total
        self.started_at = time.monotonic()
        if self.console.is_terminal:
            self._start_bar()
            return
        self.line()
        self._thread = threading.Thread(target=self._tick, daemon=True, name="looplab-progress")
        self._thread.start()

    def update(self, done: int, status: str) -> None:
        """``done`` results so far; ``status``: accuracy, tokens, errors so far."""
        self.done, self.status = done, status
        if self._bar is not None:
            bar, job = self._bar
            bar.update(job, completed=done, status=status)

    def stop(self) -> None:
        """Stop drawing (a bar is left as it is; no more lines)."""
        self._stopped.set()
        if self._bar is not None:
            self._bar[0].stop()

    def line(self) -> None:
        """Print the progress line now."""
        elapsed = time.monotonic() - self.started_at
        made = self.done - self.first
        if made and self.total > self.done:
            left = f"about {_clock(elapsed / made * (self.total - self.done))} left"
        elif self.total > self.done:
            left = "estimating time left"
        else:
            left = "done"
        parts = [
            f"{self.label}: {self.done}/{self.total} tasks",
            f"{_clock(elapsed)} elapsed",
            left,
        ]
        if self.status:
            parts.append(self.status)
        self.console.print(" · ".join(parts), highlight=False, soft_wrap=True)

    def _tick(self) -> None:
        while not self._stopped.wait(self.every_s):
            self.line()

    def _start_bar(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        bar = Progress(
            TextColumn(Text(self.label, "bold").markup),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            console=self.console,
        )
        job = bar.add_task(self.label, total=self.total, completed=self.done, status="")
        bar.start()
        self._bar = (bar, job)


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))
