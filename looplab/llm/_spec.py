"""Model specs: one string names a model for the CLI and for configs.

========================== =====================================================
spec                        model
========================== =====================================================
``local``                   the embedded SmolLM2-135M-Instruct (llama.cpp)
``gguf:PATH``               any GGUF file, run in-process by llama.cpp
``openai:MODEL``            an OpenAI-compatible server at OPENAI_BASE_URL (or OpenAI)
``openai:MODEL@BASE_URL``   the same at an explicit base URL
``openai:MODEL@URL1,URL2``  one model on several servers (least outstanding requests,
                            a failing server taken out for a while)
``replay:PATH``             completions recorded in PATH (a run dir or a .jsonl)
``replay:PATH#MODEL``       one model's completions from a recording of several
========================== =====================================================
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict

from looplab.errors import ConfigError, LLMConnectionError, ModelSpecError
from looplab.llm._types import ChatModel, TokenCounter

__all__ = ["MODEL_SPEC_FORMS", "ModelSpec", "check_reachable", "load_model", "parse_model_spec"]

MODEL_SPEC_FORMS: dict[str, str] = {
    "local": "local",
    "gguf": "gguf:PATH",
    "openai": "openai:MODEL[@BASE_URL]",
    "replay": "replay:RUN_DIR[#MODEL]",
}
"""Every kind of model spec and how it is written: the parser, the ``--model`` help and
the unknown-spec error read this one table."""
_KINDS = tuple(MODEL_SPEC_FORMS)


class ModelSpec(BaseModel):
    """A parsed model spec."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["local", "gguf", "openai", "replay"]
    target: str = ""
    """The GGUF path, the OpenAI model name or the recording path."""
    base_url: str | None = None
    """For ``openai``: the server's base URL."""
    replay_model: str | None = None
    """For ``replay``: which recorded model to replay."""

    def __str__(self) -> str:
        if self.kind == "local":
            return "local"
        text = f"{self.kind}:{self.target}"
        if self.base_url:
            text += f"@{self.base_url}"
        if self.replay_model:
            text += f"#{self.replay_model}"
        return text


def parse_model_spec(spec: str) -> ModelSpec:
    """Parse a spec string; raise ``ModelSpecError`` saying what is wrong.

    >>> parse_model_spec("openai:qwen@http://127.0.0.1:8000/v1").base_url
    'http://127.0.0.1:8000/v1'
    """
    spec = spec.strip()
    if spec == "local":
        return ModelSpec(kind="local")
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in _KINDS or kind == "local":
        raise ModelSpecError(
            f"unknown model spec {spec!r}: use one of {', '.join(MODEL_SPEC_FORMS.values())}"
        )
    if not rest:
        raise ModelSpecError(f"model spec {spec!r} names no {kind} target after the colon")
    if kind == "gguf":
        return ModelSpec(kind="gguf", target=rest)
    if kind == "replay":
        path, _, model = rest.partition("#")
        return ModelSpec(kind="replay", target=path, replay_model=model or None)
    model, _, base_url = rest.partition("@")
    if not model:
        raise ModelSpecError(f"model spec {spec!r} names no model before '@'")
    for url in base_url.split(",") if base_url else ():
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ModelSpecError(
                f"base URL {url!r} in {spec!r} is not an http(s) URL, "
                "e.g. openai:MODEL@http://127.0.0.1:8000/v1 (several: URL1,URL2)"
            )
    return ModelSpec(kind="openai", target=model, base_url=base_url or None)


def check_reachable(spec: str | ModelSpec, *, timeout_s: float = 5.0) -> None:
    """Raise ``LLMConnectionError`` in seconds when no server of an ``openai`` spec accepts
    a connection, so a run against a dead server fails before it launches any task.

    Only a TCP connection is tried: whether the server then answers well is each
    request's business (with retries), but "nothing listens there" is known at once.
    A pool is reachable when any of its servers is. Other specs need no server.
    """
    parsed = spec if isinstance(spec, ModelSpec) else parse_model_spec(spec)
    if parsed.kind != "openai":
        return
    import os
    import socket

    from looplab.llm._openai import OPENAI_URL

    urls = (parsed.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL).split(",")
    problems = []
    for url in urls:
        address = urlparse(url)
        port = address.port or (443 if address.scheme == "https" else 80)
        try:
            socket.create_connection((address.hostname, port), timeout=timeout_s).close()
            return
        except OSError as exc:
            problems.append(f"{url} ({exc.strerror or type(exc).__name__})")
    raise LLMConnectionError(
        f"cannot reach the model server{'s' if len(urls) > 1 else ''} of {parsed}: "
        + ", ".join(problems)
        + "; is the server running and the URL right?"
    )


def _known_tokenizer(model: str) -> TokenCounter | None:
    """The tokenizer of a served model when looplab has it: a model named after the
    embedded SmolLM2 weights is counted with theirs. None: counts a server omits stay
    missing (marked), never guessed."""
    if "smollm2" not in model.lower():
        return None
    from looplab.llm._llamacpp import embedded_token_counter

    try:
        return embedded_token_counter()
    except (ConfigError, ImportError, ValueError):
        return None


def load_model(spec: str | ModelSpec) -> ChatModel:
    """Build the model a spec names (loading weights or checking the recording now)."""
    parsed = spec if isinstance(spec, ModelSpec) else parse_model_spec(spec)
    if parsed.kind in ("local", "gguf"):
        from looplab.llm._llamacpp import LlamaCppModel

        return LlamaCppModel(parsed.target or None)
    if parsed.kind == "openai":
        from looplab.llm._openai import OpenAIModel

        urls = parsed.base_url.split(",") if parsed.base_url else []
        if len(urls) > 1:
            from looplab.llm._pool import ServerPool

            # One retry per server: the pool fails over faster than the SDK's backoff would.
            members = [OpenAIModel(parsed.target, base_url=u, max_retries=1) for u in urls]
            return ServerPool(members, name=str(parsed), labels=urls)
        return OpenAIModel(
            parsed.target, base_url=parsed.base_url, token_counter=_known_tokenizer(parsed.target)
        )
    from looplab.llm._replay import ReplayModel

    return ReplayModel(parsed.target, model=parsed.replay_model)
