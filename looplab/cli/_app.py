"""The typer app and what every command shares.

Every command turns a ``LooplabError`` into one line on stderr and a non-zero
exit code: bad input never shows a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.text import Text

from looplab.errors import LooplabError
from looplab.report import SafeConsole

app = typer.Typer(
    name="looplab",
    help="Study LLM critique loops: generator, critic and tools, measured honestly.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Safe: no markup, control characters shown as escapes -- whatever a model, a server
# or a path says is printed as text
out = SafeConsole(soft_wrap=True)  # long lines stay whole (paths, p-values)
err = SafeConsole(stderr=True, soft_wrap=True)  # an error stays one line, however long

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
        raise typer.Exit(130) from None


def cli_command(func: F) -> F:
    """Wrap a command so that looplab's errors end it with one line, no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _one_line_errors():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def split_list(values: str | None) -> list[str]:
    return [v.strip() for v in (values or "").split(",") if v.strip()]


def main() -> None:
    """Console-script entry point."""
    app()
