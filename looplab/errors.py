"""Every error looplab raises on purpose.

Errors from dependencies (openai, llama_cpp, httpx, docker, ...) are translated
into these at the boundary where they happen (``raise ... from exc``), so that a
caller -- and the CLI, which prints one line and exits non-zero -- only ever has
to handle this tree::

    LooplabError
    ├── ConfigError               a spec, path or option the user gave is unusable
    │   └── ModelSpecError        a model spec that does not parse or cannot be built
    ├── LLMError                  a model backend failed to give a completion
    │   ├── LLMConnectionError    server unreachable (after retries)
    │   ├── LLMTimeoutError       no answer within the timeout (after retries)
    │   ├── LLMAuthError          the server refused the credentials (never retried)
    │   ├── LLMRateLimitError     still rate limited after the retries
    │   ├── LLMServerError        any other error status from the server
    │   ├── UnsupportedRequest    the backend cannot do what was asked (e.g. continuation)
    │   └── ReplayMissError       a replayed run has no recording for this request
    ├── ToolError                 a tool could not be parsed or run (shown to the model)
    ├── SandboxError              the sandbox itself failed (not the program inside it)
    ├── EvalError                 a task set, checker or run directory is unusable
    └── UnsafePathError           a path to write through is a symlink (looplab.files)

Exceptions here carry data, never side effects: no logging, no printing.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EvalError",
    "LLMAuthError",
    "LLMConnectionError",
    "LLMError",
    "LLMRateLimitError",
    "LLMServerError",
    "LLMTimeoutError",
    "LooplabError",
    "ModelSpecError",
    "ReplayMissError",
    "SandboxError",
    "ToolError",
    "UnsafePathError",
    "UnsupportedRequest",
]


class LooplabError(Exception):
    """Base of every error looplab raises on purpose. Its message is one line for a human."""


class ConfigError(LooplabError):
    """A spec, path or option given by the user is unusable."""


class ModelSpecError(ConfigError):
    """A model spec such as ``openai:gpt-4o@http://host/v1`` does not parse or cannot be built."""


class LLMError(LooplabError):
    """A model backend failed to produce a completion."""


class LLMConnectionError(LLMError):
    """The model server could not be reached, even after retries."""


class LLMTimeoutError(LLMError):
    """The model server did not answer within the timeout, even after retries."""


class LLMAuthError(LLMError):
    """The model server refused the credentials. Never retried."""


class LLMRateLimitError(LLMError):
    """The model server kept answering 429 after every retry."""


class LLMServerError(LLMError):
    """The model server answered with an error status that is not retried or kept failing."""


class UnsupportedRequest(LLMError):
    """The backend cannot serve this request, e.g. continuing a partial assistant message."""


class ReplayMissError(LLMError):
    """A replayed model has no recorded completion for this request.

    Replay never falls back to a live model: a miss means the run being replayed
    differs from the one recorded, and that must be visible.
    """

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


class ToolError(LooplabError):
    """A tool call could not be parsed or executed. The decode loop shows it to the model."""


class SandboxError(LooplabError):
    """The sandbox failed to run a program (not: the program failed inside it)."""


class EvalError(LooplabError):
    """A task set, checker or run directory is unusable."""


class UnsafePathError(LooplabError):
    """A path looplab would write through is a symlink (or not what it must be)."""
