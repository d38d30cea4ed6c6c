"""Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp's server, Ollama) through the openai SDK.

Retries are the SDK's own: exponential backoff with jitter on connection
errors, timeouts, 408, 409, 429 and 5xx, honouring ``Retry-After``. An
authentication failure is never retried. Every SDK error is translated into
looplab's error tree here, at the boundary.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from looplab.errors import (
    ConfigError,
    LLMAuthError,
    LLMConnectionError,
    LLMRateLimitError,
    LLMServerError,
    LLMTimeoutError,
    UnsupportedRequest,
)
from looplab.llm._types import (
    Completion,
    CompletionOptions,
    Message,
    OnText,
    TokenCounter,
    TokenLogprob,
    is_continuation,
)
from looplab.records import Usage

if TYPE_CHECKING:
    import openai

__all__ = ["MAX_STOP_SEQUENCES", "OpenAIModel"]

MAX_STOP_SEQUENCES = 4
"""The OpenAI API rejects more than four stop sequences."""

OPENAI_URL = "https://api.openai.com/v1"


def _sdk() -> Any:
    """The openai package, imported on first use: it costs ~0.5 s, which a command that
    reads runs (report, compare) should not pay."""
    import openai

    return openai


class OpenAIModel:
    """A model behind an OpenAI-compatible chat-completions endpoint.

    ``continue_final_message=True`` declares that the server can continue a
    partial assistant message (vLLM's ``continue_final_message``); only then is
    a trailing assistant message sent, otherwise ``UnsupportedRequest`` is
    raised and callers start a new turn instead. ``token_counter`` (the served model's
    tokenizer) counts the tokens of a call whose server reported none.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        continue_final_message: bool = False,
        token_counter: TokenCounter | None = None,
    ) -> None:
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL
        api_key = api_key or os.environ.get("OPENAI_API_KEY")
        if api_key is None:
            if base_url.rstrip("/") == OPENAI_URL:
                raise ConfigError(
                    "no API key for api.openai.com: set OPENAI_API_KEY, or give a base URL "
                    "of a local server (openai:MODEL@http://127.0.0.1:8000/v1)"
                )
            api_key = "not-needed"  # local servers accept any key, the SDK wants one
        self.model = model
        self.base_url = base_url
        self.name = f"openai:{model}@{base_url}"
        self.supports_continuation = continue_final_message
        self.token_counter = token_counter
        """The served model's tokenizer, if known: counts a call its server reported no
        usage for (marked ``estimated_calls``)."""
        kwargs: dict[str, Any] = dict(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        self._schema_format = "json_schema"
        self._kwargs = kwargs
        self._local = threading.local()
        self._aclients: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    @property
    def _client(self) -> Any:
        """This thread's client. One shared sync client makes every thread of an eval wait
        on its connection pool's lock (py-spy: half the samples at concurrency 32); a
        client per thread has its own pool and no lock to share."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = _sdk().OpenAI(**self._kwargs)
        return client

    @property
    def _aclient(self) -> Any:
        """This event loop's async client: an async connection pool belongs to the loop
        that opened its connections, so a second loop (another ``asyncio.run``) gets its own."""
        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None:
            client = self._aclients[loop] = _sdk().AsyncOpenAI(**self._kwargs)
        return client

    def _request(self, messages: Sequence[Message], options: CompletionOptions) -> dict[str, Any]:
        if len(options.stop) > MAX_STOP_SEQUENCES:
            raise UnsupportedRequest(
                f"the OpenAI API takes at most {MAX_STOP_SEQUENCES} stop sequences, "
                f"got {len(options.stop)}"
            )
        request: dict[str, Any] = dict(
            model=self.model,
            messages=[m.model_dump() for m in messages],
            temperature=options.temperature,
            top_p=options.top_p,
            max_tokens=options.max_tokens,
        )
        if options.stop:
            request["stop"] = list(options.stop)
        if options.seed is not None:
            request["seed"] = options.seed
        if options.json_schema is not None:
            request["response_format"] = self._response_format(options.json_schema)
        if options.logprobs is not None:
            request["logprobs"] = True
            request["top_logprobs"] = options.logprobs
        if is_continuation(messages):
            if not self.supports_continuation:
                raise UnsupportedRequest(
                    f"{self.name} cannot continue a partial assistant message; "
                    "start a new turn, or pass continue_final_message=True for vLLM"
                )
            request["extra_body"] = {"continue_final_message": True, "add_generation_prompt": False}
        return request

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self._schema_format == "json_object":
            return {"type": "json_object", "schema": schema}
        return {
            "type": "json_schema",
            "json_schema": {"name": str(schema.get("title", "output")), "schema": schema},
        }

    def _rejects_json_schema(self, exc: openai.APIStatusError, request: dict[str, Any]) -> bool:
        """True when this server refused OpenAI's ``json_schema`` response format.

        llama-cpp-python's server accepts only the older ``json_object`` form
        with a ``schema``; such a server is asked again in that form, and the
        choice is kept for every later request.
        """
        # Judged by this request's own format, not the shared choice: requests built
        # before another thread's refusal came back still carry json_schema.
        rejected = (
            request.get("response_format", {}).get("type") == "json_schema"
            and exc.status_code in (400, 422, 500)
            and "json_schema" in str(exc.message)
        )
        if rejected:
            self._schema_format = "json_object"
            request["response_format"] = self._response_format(
                request["response_format"]["json_schema"]["schema"]
            )
        return rejected

    def complete(
        self,
        messages: Sequence[Message],
        options: CompletionOptions | None = None,
        *,
        on_text: OnText | None = None,
    ) -> Completion:
        request = self._request(messages, options or CompletionOptions())
        started = time.perf_counter()
        with self._translate_errors():
            if on_text is None:
                response = self._create(request)
                return self._from_response(response, time.perf_counter() - started, request)
            stream = self._create(request, stream=True, stream_options={"include_usage": True})
            collected = _StreamCollector(on_text)
            for chunk in stream:
                collected.add(chunk)
        return collected.completion(self, time.perf_counter() - started, request)

    async def acomplete(
        self,
        messages: Sequence[Message],
        options: CompletionOptions | None = None,
        *,
        on_text: OnText | None = None,
    ) -> Completion:
        request = self._request(messages, options or CompletionOptions())
        started = time.perf_counter()
        with self._translate_errors():
            if on_text is None:
                response = await self._acreate(request)
                return self._from_response(response, time.perf_counter() - started, request)
            stream = await self._acreate(
                request, stream=True, stream_options={"include_usage": True}
            )
            collected = _StreamCollector(on_text)
            async for chunk in stream:
                collected.add(chunk)
        return collected.completion(self, time.perf_counter() - started, request)

    def _create(self, request: dict[str, Any], **extra: Any) -> Any:
        try:
            return self._send(self._client, request, extra)
        except _sdk().APIStatusError as exc:
            if not self._rejects_json_schema(exc, request):
                raise
        return self._send(self._client, request, extra)

    async def _acreate(self, request: dict[str, Any], **extra: Any) -> Any:
        try:
            return await self._send(self._aclient, request, extra)
        except _sdk().APIStatusError as exc:
            if not self._rejects_json_schema(exc, request):
                raise
        return await self._send(self._aclient, request, extra)

    @staticmethod
    def _send(client: Any, request: dict[str, Any], extra: dict[str, Any]) -> Any:
        """One chat completion. Without streaming, the request is posted as the JSON it
        already is (``client.post``, the SDK's way to call any endpoint: same retries,
        errors and parsing): ``chat.completions.create`` would first walk every message
        through its TypedDict transform, ~20% of the runner's CPU (py-spy)."""
        if extra:
            return client.chat.completions.create(**request, **extra)
        from openai.types.chat import ChatCompletion

        body = {k: v for k, v in request.items() if k != "extra_body"}
        body.update(request.get("extra_body", {}))
        return client.post("/chat/completions", body=body, cast_to=ChatCompletion)

    def _from_response(self, response: Any, latency: float, request: dict) -> Completion:
        if not response.choices:
            raise LLMServerError(f"{self.name} returned no choices")
        choice = response.choices[0]
        return Completion(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason or "stop",
            usage=_usage(
                response.usage, latency, self.token_counter, request, choice.message.content or ""
            ),
            model=self.name,
            logprobs=self._logprobs(request, _token_logprobs(choice), choice.message.content),
        )

    def _logprobs(
        self, request: dict, made: list[TokenLogprob], text: str | None
    ) -> tuple[TokenLogprob, ...] | None:
        """What the server gave, if asked; a server that ignores the request says so."""
        if "logprobs" not in request:
            return None
        if not made and text:
            raise UnsupportedRequest(
                f"{self.name} returned no log-probabilities: the server does not give them"
            )
        return tuple(made)

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        where, openai = self.base_url, _sdk()
        try:
            yield
        except openai.AuthenticationError as exc:
            raise LLMAuthError(
                f"{where} refused the API key (401): set OPENAI_API_KEY to a valid key"
            ) from exc
        except openai.PermissionDeniedError as exc:
            raise LLMAuthError(f"{where} denied access to model {self.model!r} (403)") from exc
        except openai.RateLimitError as exc:
            raise LLMRateLimitError(f"{where} is still rate limiting (429) after retries") from exc
        except openai.APITimeoutError as exc:
            raise LLMTimeoutError(f"{where} did not answer in time, even after retries") from exc
        except openai.APIConnectionError as exc:
            raise LLMConnectionError(
                f"cannot reach {where}: is the server running and the URL right?"
            ) from exc
        except openai.NotFoundError as exc:
            raise LLMServerError(
                f"{where} answered 404 for model {self.model!r}: check the model name and URL"
            ) from exc
        except openai.APIStatusError as exc:
            raise LLMServerError(
                f"{where} answered {exc.status_code}: {_short(exc.message)}"
            ) from exc


class _StreamCollector:
    """Gathers a streamed chat completion into one Completion."""

    def __init__(self, on_text: OnText) -> None:
        self.on_text = on_text
        self.pieces: list[str] = []
        self.finish_reason = "stop"
        self.usage: Any = None
        self.logprobs: list[TokenLogprob] = []

    def add(self, chunk: Any) -> None:
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices[:1]:
            self.logprobs += _token_logprobs(choice)
            if choice.delta and choice.delta.content:
                self.pieces.append(choice.delta.content)
                self.on_text(choice.delta.content)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason

    def completion(self, model: OpenAIModel, latency: float, request: dict) -> Completion:
        text = "".join(self.pieces)
        return Completion(
            text=text,
            finish_reason=self.finish_reason,
            usage=_usage(self.usage, latency, model.token_counter, request, text),
            model=model.name,
            logprobs=model._logprobs(request, self.logprobs, text),
        )


def _token_logprobs(choice: Any) -> list[TokenLogprob]:
    content = getattr(getattr(choice, "logprobs", None), "content", None) or ()
    return [
        TokenLogprob(
            token=entry.token,
            logprob=entry.logprob,
            top=tuple((alt.token, alt.logprob) for alt in entry.top_logprobs or ()),
        )
        for entry in content
    ]


def _usage(
    reported: Any,
    latency: float,
    counter: TokenCounter | None = None,
    request: dict | None = None,
    text: str = "",
) -> Usage:
    """Token counts as the server reported them. Where it reported none: counted with
    ``counter`` (the model's tokenizer) and marked estimated, or marked missing."""
    if reported is None:
        if counter is None or request is None:
            return Usage(latency_s=latency, calls=1, unreported_calls=1)
        messages = [
            {"role": m.get("role", ""), "content": _text_of(m.get("content"))}
            for m in request.get("messages", [])
        ]
        return Usage(
            prompt_tokens=counter.prompt_tokens(messages),
            completion_tokens=counter.count(text),
            latency_s=latency,
            calls=1,
            estimated_calls=1,
        )
    return Usage(
        prompt_tokens=reported.prompt_tokens or 0,
        completion_tokens=reported.completion_tokens or 0,
        latency_s=latency,
        calls=1,
    )


def _text_of(content: Any) -> str:
    """A request message's text: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
