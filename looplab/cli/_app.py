"""The typer app and what every command shares.

Every command turns a ``LooplabError`` into one line on stderr and a non-zero
exit code: bad input never shows a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.text import Text

from looplab.errors import LooplabError
from looplab.report import SafeConsole

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
"""Every command and group answers -h as well as --help."""

app = typer.Typer(
    name="looplab",
    help="Study LLM critique loops: generator, critic and tools, measured honestly.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Help is plain text: option values such as openai:MODEL[@BASE_URL] are not markup
    rich_markup_mode=None,
    context_settings=HELP_OPTIONS,
)


# Safe: no markup, control characters shown as escapes -- whatever a model, a server
# or a path says is printed as text
out = SafeConsole(soft_wrap=True)  # long lines stay whole (paths, p-values)
err = SafeConsole(stderr=True, soft_wrap=True)  # an error stays one line, however long


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out.print(f"looplab {version('looplab')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Study LLM critique loops: generator, critic and tools, measured honestly."""


EXIT_ERROR = 2
"""Exit code for bad input or a failed backend (typer uses 2 for usage errors too)."""

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def _one_line_errors() -> Iterator[None]:
    try:
        yield
    except LooplabError as exc:
        err.print(Text.assemble(("error:", "red"), f" {exc}"))
        raise typer.Exit(EXIT_ERROR) from None
    except (OSError, UnicodeError) as exc:  # a path that cannot be read or written
        err.print(Text.assemble(("error:", "red"), f" {exc}"))
        raise typer.Exit(EXIT_ERROR) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        _exit_now(130)  # not raise: at exit Python would join threads still generating


def cli_command(func: F) -> F:
    """Wrap a command so that looplab's errors end it with one line, no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _one_line_errors():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def split_list(values: str | None) -> list[str]:
    return [v.strip() for v in (values or "").split(",") if v.strip()]


INTERRUPT_GRACE_S = 1.5
"""After Ctrl-C, how long a command has to save what is done and say how to resume
before the process ends anyway: a model call in a thread is not interruptible."""


def _exit_now(code: int) -> None:
    """End the process at once, output flushed: no waiting for worker threads."""
    import os
    import sys

    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def install_interrupt_handler() -> None:
    """Ctrl-C stops within ``INTERRUPT_GRACE_S``: the first raises KeyboardInterrupt (a run
    saves, prints how to resume and exits) and starts a timer that ends the process if
    that has not happened by then; a second Ctrl-C ends it at once. Nothing is installed
    where SIGINT is ignored (a background job)."""
    import signal
    import threading

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return
    pressed = 0

    def give_up() -> None:
        err.print("interrupted: stopped without waiting for the work in flight")
        _exit_now(130)

    def on_interrupt(signum: int, frame: Any) -> None:
        nonlocal pressed
        pressed += 1
        if pressed > 1:
            _exit_now(130)
        timer = threading.Timer(INTERRUPT_GRACE_S, give_up)
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_interrupt)


def main() -> None:
    """Console-script entry point."""
    install_interrupt_handler()
    app()
