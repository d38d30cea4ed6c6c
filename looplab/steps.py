"""Bodies written once, run either sync or async.

A *body* is a generator function that yields a ``Step`` wherever it waits on
the world (a model call, a tool, the sandbox) and receives that step's result.
``drive`` runs a body's steps with their sync functions; ``adrive`` awaits
their async twins. So a node, a critic or a generator is written once and
works both under LangGraph's ``invoke``/``stream`` (the CLI's ``run``, a
user's script) and under ``ainvoke`` on one event loop (the eval runner),
where a thousand loops in flight cost no thread each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

__all__ = ["Body", "Step", "adrive", "blocking", "call", "drive"]

T = TypeVar("T")
R = TypeVar("R")


class Step(Generic[T]):
    """One wait of a body: ``run()`` does it in this thread, ``arun()`` awaits it."""

    __slots__ = ("arun", "run")

    def __init__(self, run: Callable[[], T], arun: Callable[[], Awaitable[T]]) -> None:
        self.run = run
        self.arun = arun


Body = Generator[Step[Any], Any, R]
"""A body: a generator function that yields Steps where it waits and returns its result."""


def call(
    function: Callable[..., T], afunction: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any
) -> Step[T]:
    """The step of ``function(*args, **kwargs)``, or of awaiting ``afunction`` with them."""
    return Step(lambda: function(*args, **kwargs), lambda: afunction(*args, **kwargs))


def blocking(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> Step[T]:
    """A step with no async twin (grading in the sandbox behind a sync API, say): awaited
    in a worker thread, so the event loop keeps serving the other loops meanwhile."""
    return Step(
        lambda: function(*args, **kwargs), lambda: asyncio.to_thread(function, *args, **kwargs)
    )


def drive(body: Body[R]) -> R:
    """Run ``body`` to its return value, each step in this thread."""
    try:
        step = next(body)
        while True:
            step = body.send(step.run())
    except StopIteration as finished:
        return finished.value
    finally:
        body.close()


async def adrive(body: Body[R]) -> R:
    """Run ``body`` to its return value, awaiting each step's async twin."""
    try:
        step = next(body)
        while True:
            step = body.send(await step.arun())
    except StopIteration as finished:
        return finished.value
    finally:
        body.close()
