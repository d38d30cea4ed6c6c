"""The ``looplab`` command line: one typer app, its commands in small modules.

Every command turns a ``LooplabError`` into one line on stderr and a non-zero
exit code: bad input never shows a traceback.
"""

from looplab.cli import _evals, _export, _loops, _models, _sandbox, _studies  # noqa: F401
from looplab.cli._app import app, main

__all__ = ["app", "main"]
