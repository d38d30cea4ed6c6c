"""Record then replay gives identical results; a miss is a clear error."""

from __future__ import annotations

import asyncio
import json

import pytest

from looplab.errors import ConfigError, ReplayMissError
from looplab.llm import (
    RECORDING_FILE,
    Completion,
    CompletionOptions,
    Message,
    RecordingModel,
    ReplayModel,
    load_model,
    request_key,
)
from looplab.records import Usage


class CountingModel:
    """A deterministic stand-in backend: answers with a counter, to tell calls apart."""

    name = "counting"
    supports_continuation = True

    def __init__(self) -> None:
        self.calls = 0

    def complete(self, messages, options=None, *, on_text=None):
        self.calls += 1
        text = f"answer {self.calls} to {messages[-1].content}"
        if on_text:
            on_text(text)
        return Completion(
            text=text,
            finish_reason="stop",
            model=self.name,
            usage=Usage(prompt_tokens=4, completion_tokens=3, latency_s=0.01, calls=1),
        )

    async def acomplete(self, messages, options=None, *, on_text=None):
        return self.complete(messages, options, on_text=on_text)


def ask(content: str) -> list[Message]:
    return [Message(role="user", content=content)]


def test_record_then_replay_is_identical_in_order(tmp_path):
    recorder = RecordingModel(CountingModel(), tmp_path)
    options = CompletionOptions(temperature=1.0, seed=None)
    recorded = [recorder.complete(ask(q), options) for q in ("a", "b", "a")]  # "a" twice
    replay = ReplayModel(tmp_path)
    assert replay.name == "counting" and replay.supports_continuation is True
    replayed = [replay.complete(ask(q), options) for q in ("a", "b", "a")]
    assert replayed == recorded  # the n-th identical request gets the n-th answer
    assert replayed[0].text != replayed[2].text


def test_replay_of_the_real_embedded_model(tmp_path, embedded_model):
    recorder = RecordingModel(embedded_model, tmp_path / "run")
    options = CompletionOptions(max_tokens=12)
    live = recorder.complete(ask("Say hi."), options)
    replayed = load_model(f"replay:{tmp_path / 'run'}").complete(ask("Say hi."), options)
    assert replayed == live


def test_a_miss_names_the_request(tmp_path):
    RecordingModel(CountingModel(), tmp_path).complete(ask("known"))
    replay = ReplayModel(tmp_path)
    with pytest.raises(ReplayMissError, match=r"replay miss.*'unknown'") as info:
        replay.complete(ask("unknown"))
    assert info.value.key == request_key("counting", ask("unknown"), CompletionOptions())


def test_changed_options_miss(tmp_path):
    RecordingModel(CountingModel(), tmp_path).complete(ask("q"), CompletionOptions(max_tokens=5))
    with pytest.raises(ReplayMissError):
        ReplayModel(tmp_path).complete(ask("q"), CompletionOptions(max_tokens=6))


def test_exhausted_recording_misses(tmp_path):
    RecordingModel(CountingModel(), tmp_path).complete(ask("q"))
    replay = ReplayModel(tmp_path)
    replay.complete(ask("q"))
    with pytest.raises(ReplayMissError, match="no \\(further\\) completion"):
        replay.complete(ask("q"))


def test_async_and_streaming_replay(tmp_path):
    recorded = RecordingModel(CountingModel(), tmp_path).complete(ask("q"))
    pieces: list[str] = []
    replayed = asyncio.run(ReplayModel(tmp_path).acomplete(ask("q"), on_text=pieces.append))
    assert replayed == recorded and "".join(pieces) == recorded.text


def test_several_models_need_a_choice(tmp_path):
    other = CountingModel()
    other.name = "critic"
    RecordingModel(CountingModel(), tmp_path).complete(ask("q"))
    RecordingModel(other, tmp_path).complete(ask("q"))
    with pytest.raises(ConfigError, match="several models"):
        ReplayModel(tmp_path)
    assert ReplayModel(tmp_path, model="critic").complete(ask("q")).model == "critic"
    assert load_model(f"replay:{tmp_path}#counting").name == "counting"


def test_torn_last_line_from_a_kill_is_ignored(tmp_path):
    recorder = RecordingModel(CountingModel(), tmp_path)
    first = recorder.complete(ask("q"))
    with recorder.path.open("a") as f:
        f.write('{"version": 1, "key": "abc", "mod')  # killed mid-write
    assert ReplayModel(tmp_path).complete(ask("q")) == first


def test_corrupt_line_is_a_clear_error(tmp_path):
    path = tmp_path / "rec.jsonl"
    path.write_text(json.dumps({"nothing": 1}) + "\n")
    with pytest.raises(ConfigError, match=r"rec\.jsonl:1 is not a recording line"):
        ReplayModel(path)


def test_missing_recording_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no recording at"):
        ReplayModel(tmp_path / "nope")


def test_request_keys_are_stable_across_versions(tmp_path):
    """Recordings made earlier must keep matching: the key of a request is pinned (values
    computed by request_key as it was before recording dumped each request once), and a
    recorded line's key is it."""
    messages = [
        Message(role="system", content="Solve."),
        Message(role="user", content="What is 2 + 2? ü"),
    ]
    plain = CompletionOptions()
    shaped = CompletionOptions(logprobs=3, stop=("</calc>",), seed=7)
    assert request_key("openai:fake@http://x", messages, plain) == (
        "89aebef2db35b6bdf47ac6eeb7ad804c"
    )
    assert request_key("openai:fake@http://x", messages, shaped) == (
        "6bf134f3a3f987d04b4723a04a2fa292"
    )
    RecordingModel(CountingModel(), tmp_path).complete(messages, shaped)
    line = json.loads((tmp_path / RECORDING_FILE).read_text())
    assert line["key"] == request_key("counting", messages, shaped)
    assert line["request"]["options"]["logprobs"] == 3
