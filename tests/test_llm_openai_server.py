"""The OpenAI-compatible backend through the openai SDK against a real llama.cpp server."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from looplab.errors import UnsupportedRequest
from looplab.llm import CompletionOptions, Message, OpenAIModel, complete_structured, load_model

pytestmark = pytest.mark.slow

QUESTION = [Message(role="user", content="Count from 1 to 10, separated by commas.")]


@pytest.fixture(scope="module")
def server_model(llama_server):
    return OpenAIModel("smollm2", base_url=llama_server)


def test_completion_with_usage(server_model):
    completion = server_model.complete(QUESTION, CompletionOptions(max_tokens=30))
    assert "1" in completion.text
    assert completion.usage.prompt_tokens > 5 and completion.usage.completion_tokens > 0
    assert completion.finish_reason in ("stop", "length")


def test_spec_builds_the_same_backend(llama_server):
    model = load_model(f"openai:smollm2@{llama_server}")
    assert isinstance(model, OpenAIModel) and model.base_url == llama_server


def test_stop_sequences(server_model):
    free = server_model.complete(QUESTION, CompletionOptions(max_tokens=40)).text
    assert "5" in free, free
    stopped = server_model.complete(QUESTION, CompletionOptions(max_tokens=40, stop=("5",)))
    assert "5" not in stopped.text
    assert free.startswith(stopped.text)


def test_streaming(server_model):
    pieces: list[str] = []
    completion = server_model.complete(
        QUESTION, CompletionOptions(max_tokens=30), on_text=pieces.append
    )
    assert len(pieces) > 1 and "".join(pieces) == completion.text
    assert completion.text == server_model.complete(QUESTION, CompletionOptions(max_tokens=30)).text
    # llama-cpp-python's server sends no usage when streaming: marked, never guessed.
    assert completion.usage.unreported_calls == 1 and completion.usage.total_tokens == 0


def test_a_server_that_reports_no_usage_is_counted_with_the_known_tokenizer(llama_server):
    """Named after the embedded weights, the served model is counted with their tokenizer
    when its server sends no usage (streaming): marked estimated, and close to what the
    same server reports for the same call unstreamed."""
    from looplab.report import usage_line

    model = load_model(f"openai:smollm2@{llama_server}")
    streamed = model.complete(QUESTION, CompletionOptions(max_tokens=30), on_text=lambda _: None)
    reported = model.complete(QUESTION, CompletionOptions(max_tokens=30))
    assert streamed.usage.estimated_calls == 1 and streamed.usage.unreported_calls == 0
    assert reported.usage.estimated_calls == 0
    assert streamed.usage.completion_tokens == pytest.approx(
        reported.usage.completion_tokens, abs=2
    )
    assert streamed.usage.prompt_tokens == pytest.approx(reported.usage.prompt_tokens, abs=4)
    assert "ESTIMATED" in usage_line(streamed.usage)
    # a name looplab knows no tokenizer for: the counts stay missing, and say so
    unknown = load_model(f"openai:judge@{llama_server}")
    missing = unknown.complete(QUESTION, CompletionOptions(max_tokens=5), on_text=lambda _: None)
    assert missing.usage.unreported_calls == 1 and missing.usage.total_tokens == 0
    assert "MISSING" in usage_line(missing.usage)


def test_async_streaming_with_stop(server_model):
    pieces: list[str] = []
    options = CompletionOptions(max_tokens=40, stop=("5",))
    completion = asyncio.run(server_model.acomplete(QUESTION, options, on_text=pieces.append))
    assert "5" not in completion.text and "".join(pieces) == completion.text


def test_more_than_four_stop_sequences_is_refused_before_sending(server_model):
    with pytest.raises(UnsupportedRequest, match="at most 4 stop sequences"):
        server_model.complete(QUESTION, CompletionOptions(stop=("a", "b", "c", "d", "e")))


def test_continuation_is_declared_unsupported(server_model):
    assert server_model.supports_continuation is False
    messages = [*QUESTION, Message(role="assistant", content="1, 2,")]
    with pytest.raises(UnsupportedRequest, match="new turn"):
        server_model.complete(messages)


class Colour(BaseModel):
    name: str


def test_json_schema_output(server_model):
    messages = [Message(role="user", content="Name a colour, in JSON.")]
    result = complete_structured(server_model, messages, Colour, CompletionOptions(max_tokens=40))
    assert result.value.name
