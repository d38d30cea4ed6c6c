"""The model protocol and the values it exchanges."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from looplab.records import Usage

__all__ = [
    "ChatModel",
    "Completion",
    "CompletionOptions",
    "HiddenStateModel",
    "Message",
    "OnText",
    "TokenCounter",
    "TokenLogprob",
    "as_messages",
    "is_continuation",
]

Role = Literal["system", "user", "assistant"]

OnText = Callable[[str], None]
"""Called with each piece of text as it is generated (streaming)."""


class Message(BaseModel):
    """One chat message. A trailing assistant message is a prefix to continue."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class CompletionOptions(BaseModel):
    """Sampling and shaping options of one completion request.

    The defaults are the reproducible ones a study wants: greedy decoding.
    """

    model_config = ConfigDict(frozen=True)

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    """Sampling temperature; 0 is greedy."""
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    """Nucleus sampling mass."""
    max_tokens: int = Field(default=512, ge=1)
    """Cap on generated tokens; hitting it gives ``finish_reason == "length"``."""
    stop: tuple[str, ...] = ()
    """Stop sequences; the text returned never includes the one that matched."""
    seed: int | None = None
    """Sampling seed, where the backend honours one."""
    json_schema: dict[str, Any] | None = None
    """Constrain the output to JSON matching this schema (see ``complete_structured``)."""
    logprobs: int | None = Field(default=None, ge=0, le=20)
    """Return each generated token's log-probability with this many of the most likely
    tokens at its position (0: the chosen token's only); None: no log-probabilities."""


class TokenLogprob(BaseModel):
    """One generated token: its text, its log-probability, and the most likely tokens
    at its position (most likely first) with theirs."""

    model_config = ConfigDict(frozen=True)

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


class Completion(BaseModel):
    """What a model call returns."""

    model_config = ConfigDict(frozen=True)

    text: str
    """Generated text only: a continued prefix is not repeated, the stop sequence not included."""
    finish_reason: str
    """``stop`` (end of turn or a stop sequence), ``length`` (max_tokens), or the backend's word."""
    usage: Usage
    """Tokens and latency of this one call."""
    model: str
    """The name of the model that produced it."""
    logprobs: tuple[TokenLogprob, ...] | None = None
    """Per generated token, when the request asked (``CompletionOptions.logprobs``)."""


@runtime_checkable
class ChatModel(Protocol):
    """A chat model: messages in, one completion out.

    A conversation whose last message has the role ``assistant`` asks the model
    to *continue* that message rather than start a new turn. Backends that
    cannot do so have ``supports_continuation = False`` and raise
    ``UnsupportedRequest``; callers fall back to a new turn.
    """

    name: str
    supports_continuation: bool

    def complete(
        self,
        messages: Sequence[Message],
        options: CompletionOptions | None = None,
        *,
        on_text: OnText | None = None,
    ) -> Completion:
        """Generate one completion; stream pieces of text to ``on_text`` if given."""
        ...

    async def acomplete(
        self,
        messages: Sequence[Message],
        options: CompletionOptions | None = None,
        *,
        on_text: OnText | None = None,
    ) -> Completion:
        """The async twin of ``complete``."""
        ...


@runtime_checkable
class HiddenStateModel(Protocol):
    """A model that can show its hidden state (the embedded backend; a server's API
    does not): what a probe trained on its states reads."""

    name: str

    def hidden_state(self, messages: Sequence[Message]) -> tuple[list[float], Usage]:
        """The final layer's state at the last token of ``messages`` rendered as the
        model's prompt, and the tokens read to compute it."""
        ...


class TokenCounter(Protocol):
    """A model's tokenizer, for counting the tokens of a call its server reported none for."""

    def count(self, text: str) -> int:
        """Tokens of ``text``."""
        ...

    def prompt_tokens(self, messages: list[dict[str, Any]]) -> int:
        """Tokens of the prompt the chat ``messages`` render to."""
        ...


def as_messages(messages: Iterable[Message | Mapping[str, str]]) -> list[Message]:
    """Accept messages as records or as OpenAI-style dicts.

    >>> as_messages([{"role": "user", "content": "hi"}])
    [Message(role='user', content='hi')]
    """
    return [m if isinstance(m, Message) else Message.model_validate(m) for m in messages]


def is_continuation(messages: Sequence[Message]) -> bool:
    """True when the request asks to continue a partial assistant message."""
    return bool(messages) and messages[-1].role == "assistant"
