"""The runner's two entry points, made from ``runner_program.py`` (package data).

``runner_program.py`` is an ordinary Python file (linted and read like the
rest) that is never imported: its source is what ``python3 -I -S -c`` runs
inside the sandbox, so it uses only modules built into the interpreter.
"""

from importlib import resources

__all__ = ["ONE_SHOT", "SUPERVISOR"]

_PROGRAM = resources.files("looplab.sandbox").joinpath("runner_program.py").read_text("utf-8")

ONE_SHOT = _PROGRAM + "\nmain()\n"
"""The runner of one request: the process backend's."""

SUPERVISOR = _PROGRAM + "\nsupervise()\n"
"""The runner of a warm container, its PID 1, serving one request after another."""
