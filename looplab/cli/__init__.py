"""The ``looplab`` command line: one typer app, its commands in small modules.

Every command turns a ``LooplabError`` into one line on stderr and a non-zero
exit code: bad input never shows a traceback.
"""

from looplab.cli import (  # noqa: F401
    _evals,
    _export,
    _loops,
    _models,
    _sandbox,
    _studies,
    _verifier,
)
from looplab.cli._app import app, main

__all__ = ["app", "main"]
