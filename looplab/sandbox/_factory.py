"""Choosing a backend by name: ``docker``, ``bubblewrap``, ``process`` or ``auto``."""

from __future__ import annotations

from typing import Literal

from looplab.errors import SandboxError
from looplab.sandbox._bubblewrap import BubblewrapSandbox, bubblewrap_available
from looplab.sandbox._docker import DockerSandbox, docker_available
from looplab.sandbox._process import ProcessSandbox
from looplab.sandbox._types import Limits, Sandbox

__all__ = ["BACKENDS", "BackendName", "available_backends", "make_sandbox"]

BackendName = Literal["auto", "docker", "bubblewrap", "process"]
"""A sandbox backend's name (``auto`` picks the strongest available)."""
BACKENDS: tuple[str, ...] = ("auto", "docker", "bubblewrap", "process")
"""The backends' names, strongest isolation first after ``auto``."""


def available_backends(image: str | None = None) -> dict[str, str | None]:
    """Each isolated backend -> why it is unusable here, or None if it is usable."""
    return {"docker": docker_available(image), "bubblewrap": bubblewrap_available()}


def make_sandbox(
    backend: str = "auto", *, limits: Limits | None = None, image: str | None = None
) -> Sandbox:
    """Build a sandbox. ``auto`` takes Docker if an engine and an image are there, else
    bubblewrap; it never falls back to the unisolated process backend."""
    if backend == "docker":
        return DockerSandbox(limits, image=image)
    if backend == "bubblewrap":
        return BubblewrapSandbox(limits)
    if backend == "process":
        return ProcessSandbox(limits)
    if backend != "auto":
        raise SandboxError(f"unknown sandbox backend {backend!r}: use one of {', '.join(BACKENDS)}")
    reasons = available_backends(image)
    if reasons["docker"] is None:
        return DockerSandbox(limits, image=image)
    if reasons["bubblewrap"] is None:
        return BubblewrapSandbox(limits)
    raise SandboxError(
        "no isolated sandbox here. Docker: "
        f"{reasons['docker']}. Bubblewrap: {reasons['bubblewrap']}. "
        "Install either, or name --backend process to run code unisolated."
    )
