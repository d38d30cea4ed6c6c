"""Structured output: a completion constrained to JSON that parses into a pydantic model."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from looplab.errors import LLMError
from looplab.llm._types import ChatModel, Completion, CompletionOptions, Message

__all__ = [
    "Structured",
    "StructuredOutputError",
    "acomplete_structured",
    "complete_structured",
    "parse_structured",
    "schema_options",
]

T = TypeVar("T", bound=BaseModel)


class StructuredOutputError(LLMError):
    """The model's output did not parse into the requested schema."""

    def __init__(self, message: str, *, completion: Completion) -> None:
        super().__init__(message)
        self.completion = completion


@dataclass(frozen=True)
class Structured(Generic[T]):
    """A parsed value together with the completion it came from."""

    value: T
    completion: Completion


def schema_options(schema: type[BaseModel], options: CompletionOptions | None) -> CompletionOptions:
    """Return ``options`` with the JSON schema of ``schema`` set as the output constraint."""
    base = options or CompletionOptions()
    return base.model_copy(update={"json_schema": _json_schema(schema)})


@functools.cache
def _json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """Made once per class: pydantic builds it anew on every call (~0.1 ms, every critique).
    Shared, so never mutated: backends read it."""
    return schema.model_json_schema()


def parse_structured(schema: type[T], completion: Completion) -> T:
    """Parse a completion's text into ``schema`` or raise ``StructuredOutputError``."""
    try:
        return schema.model_validate_json(completion.text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise StructuredOutputError(
            f"{completion.model} output does not match {schema.__name__}: "
            f"{where}: {first['msg']} (finish_reason={completion.finish_reason})",
            completion=completion,
        ) from exc


def complete_structured(
    model: ChatModel,
    messages: Sequence[Message],
    schema: type[T],
    options: CompletionOptions | None = None,
) -> Structured[T]:
    """Ask ``model`` for JSON constrained by ``schema`` and parse it.

    Backends that support constrained decoding (llama.cpp grammars, OpenAI's
    ``json_schema`` response format) guarantee the shape unless the output is
    cut at ``max_tokens``; the parse is checked either way.
    """
    completion = model.complete(messages, schema_options(schema, options))
    return Structured(parse_structured(schema, completion), completion)


async def acomplete_structured(
    model: ChatModel,
    messages: Sequence[Message],
    schema: type[T],
    options: CompletionOptions | None = None,
) -> Structured[T]:
    """The async twin of ``complete_structured``."""
    completion = await model.acomplete(messages, schema_options(schema, options))
    return Structured(parse_structured(schema, completion), completion)
