"""One protocol to run untrusted code; the security boundary of looplab.

``Sandbox.run(program | command, files=, stdin=, limits=) -> ExecResult``,
with backends ``DockerSandbox`` (hardened containers in a warm pool),
``BubblewrapSandbox`` (namespaces) and ``ProcessSandbox`` (unisolated, opt-in
only). ``make_sandbox("auto")`` picks the best isolated one available.
"""

from looplab.sandbox._bubblewrap import RUN_UIDS, BubblewrapSandbox, bubblewrap_available
from looplab.sandbox._docker import (
    BUILT_IMAGE,
    DEFAULT_IMAGES,
    DockerSandbox,
    docker_available,
    reap_orphans,
)
from looplab.sandbox._factory import BACKENDS, available_backends, make_sandbox
from looplab.sandbox._grading import (
    CheckResult,
    acheck_program,
    check_from_asserts,
    check_program,
    context_from_prompt,
)
from looplab.sandbox._image import build_image
from looplab.sandbox._process import ProcessSandbox
from looplab.sandbox._spawner import SPAWNER_SOURCE
from looplab.sandbox._types import ExecResult, Isolation, Limits, Sandbox

__all__ = [
    # protocol and records
    "ExecResult",
    "Isolation",
    "Limits",
    "Sandbox",
    # backends
    "BubblewrapSandbox",
    "SPAWNER_SOURCE",
    "RUN_UIDS",
    "DockerSandbox",
    "ProcessSandbox",
    "BACKENDS",
    "available_backends",
    "bubblewrap_available",
    "docker_available",
    "make_sandbox",
    "reap_orphans",
    # images
    "BUILT_IMAGE",
    "DEFAULT_IMAGES",
    "build_image",
    # grading
    "CheckResult",
    "acheck_program",
    "check_from_asserts",
    "check_program",
    "context_from_prompt",
]
