"""The isolated sandbox backends for tests: one made with the given limits, or a skip
saying why it is unusable here (a failure in CI, which sets LOOPLAB_REQUIRE_SANDBOX=1)."""

from __future__ import annotations

import os

import pytest

from looplab.sandbox import BubblewrapSandbox, DockerSandbox, Limits, available_backends

REQUIRED = os.environ.get("LOOPLAB_REQUIRE_SANDBOX") == "1"


def isolated_backend(name: str, limits: Limits):
    """A ``docker`` or ``bubblewrap`` sandbox with ``limits``, or skip (fail in CI)."""
    reason = available_backends()[name]
    if reason is not None:
        if REQUIRED:
            pytest.fail(f"LOOPLAB_REQUIRE_SANDBOX=1 but {name} is unusable: {reason}")
        pytest.skip(reason=f"{name} is unusable here: {reason}")
    return DockerSandbox(limits) if name == "docker" else BubblewrapSandbox(limits)
