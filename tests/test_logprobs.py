"""Token log-probabilities: from the embedded model, from a real llama.cpp server through
the openai SDK, and through recording and replay."""

from __future__ import annotations

import asyncio
import math

import pytest

from looplab.llm import (
    CompletionOptions,
    Message,
    OpenAIModel,
    RecordingModel,
    ReplayModel,
)

pytestmark = pytest.mark.slow

QUESTION = [Message(role="user", content="What is 12 plus 30? Answer with a number.")]


def test_embedded_logprobs_leave_the_greedy_text_alone_and_add_up(embedded_model):
    plain = embedded_model.complete(QUESTION, CompletionOptions(max_tokens=24))
    scored = embedded_model.complete(QUESTION, CompletionOptions(max_tokens=24, logprobs=5))
    assert plain.logprobs is None
    assert scored.text == plain.text and scored.finish_reason == plain.finish_reason
    assert scored.logprobs is not None and len(scored.logprobs) == scored.usage.completion_tokens
    assert "".join(entry.token for entry in scored.logprobs) == scored.text
    for entry in scored.logprobs:
        assert entry.logprob <= 0 and len(entry.top) == 5
        values = [value for _, value in entry.top]
        assert values == sorted(values, reverse=True)
        # greedy: the token taken is the most likely one
        assert entry.top[0] == (entry.token, pytest.approx(entry.logprob))
        assert sum(math.exp(value) for value in values) <= 1 + 1e-6


def test_embedded_logprobs_with_a_stop_sequence_and_streaming(embedded_model):
    pieces: list[str] = []
    options = CompletionOptions(max_tokens=24, logprobs=0, stop=(" =",))
    scored = embedded_model.complete(QUESTION, options, on_text=pieces.append)
    plain = embedded_model.complete(QUESTION, CompletionOptions(max_tokens=24, stop=(" =",)))
    assert scored.text == plain.text == "".join(pieces) and " =" not in scored.text
    assert scored.finish_reason == "stop"
    assert "".join(entry.token for entry in scored.logprobs) == scored.text
    assert all(entry.top == () for entry in scored.logprobs)


def test_the_server_and_the_embedded_model_agree(embedded_model, llama_server):
    """The same weights, prompt and greedy decoding: the same tokens, and log-probabilities
    equal within what two builds' float arithmetic may differ by."""
    server = OpenAIModel("smollm2", base_url=llama_server)
    options = CompletionOptions(max_tokens=8, logprobs=3)
    here = embedded_model.complete(QUESTION, options)
    there = server.complete(QUESTION, options)
    assert there.text == here.text
    assert [e.token for e in there.logprobs] == [e.token for e in here.logprobs]
    for mine, theirs in zip(here.logprobs, there.logprobs, strict=True):
        assert theirs.logprob == pytest.approx(mine.logprob, abs=0.05)
        assert [token for token, _ in theirs.top] == [token for token, _ in mine.top]
        assert [value for _, value in theirs.top] == pytest.approx(
            [value for _, value in mine.top], abs=0.05
        )


def test_the_server_gives_logprobs_streaming_and_async(llama_server):
    server = OpenAIModel("smollm2", base_url=llama_server)
    options = CompletionOptions(max_tokens=8, logprobs=2)
    whole = server.complete(QUESTION, options)
    pieces: list[str] = []
    streamed = asyncio.run(server.acomplete(QUESTION, options, on_text=pieces.append))
    assert streamed.text == whole.text == "".join(pieces)
    assert [e.token for e in streamed.logprobs] == [e.token for e in whole.logprobs]


def test_logprobs_are_recorded_and_replayed(embedded_model, tmp_path):
    options = CompletionOptions(max_tokens=8, logprobs=2)
    recorder = RecordingModel(embedded_model, tmp_path)
    live = recorder.complete(QUESTION, options)
    replayed = ReplayModel(tmp_path).complete(QUESTION, options)
    assert replayed == live and replayed.logprobs
