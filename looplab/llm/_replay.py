"""Record completions from any backend, and replay them for exact reproduction.

A recording is a JSON-lines file, one completion a line, keyed by the request:
the model's name, the messages and the options. Replaying the same requests in
the same order returns the same completions; the n-th identical request gets
the n-th recorded answer (so repeated sampling replays too). A request with no
recording left raises ``ReplayMissError`` naming it: replay never falls back
to a live model.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import threading
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from looplab.errors import ConfigError, ReplayMissError, UnsupportedRequest
from looplab.files import make_dir, open_append
from looplab.llm._types import (
    ChatModel,
    Completion,
    CompletionOptions,
    HiddenStateModel,
    Message,
    OnText,
)
from looplab.records import Usage

__all__ = [
    "RECORDING_FILE",
    "RecordingModel",
    "ReplayModel",
    "ReplayThenLive",
    "collect_recording",
    "request_key",
]

RECORDING_FILE = "completions.jsonl"
"""The recording's file name inside a run directory."""

_VERSION = 1


def request_key(model: str, messages: Sequence[Message], options: CompletionOptions) -> str:
    """A stable hash of everything that determines a completion."""
    dumped = [m.model_dump() for m in messages]
    return _key(model, dumped, options.model_dump(mode="json"))


def _key(model: str, messages: list[dict[str, Any]], options: dict[str, Any]) -> str:
    """``request_key`` of messages and options already dumped to JSON-ready dicts."""
    if options["logprobs"] is None:  # so that recordings made before it existed still match
        options = {k: v for k, v in options.items() if k != "logprobs"}
    payload = {"model": model, "messages": messages, "options": options}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _recording_path(path: str | Path) -> Path:
    path = Path(path)
    return path / RECORDING_FILE if path.is_dir() or not path.suffix else path


_BUFFER: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "looplab_recording_buffer", default=None
)


@contextlib.contextmanager
def collect_recording() -> Iterator[list[str]]:
    """Within this block, recording models append their lines to the yielded list instead
    of their file: the eval runner collects one task's completions and writes them with
    its result, so the recording holds exactly the finished tasks (on any executor)."""
    lines: list[str] = []
    token = _BUFFER.set(lines)
    try:
        yield lines
    finally:
        _BUFFER.reset(token)


class RecordingModel:
    """Wraps any ChatModel and appends every completion it returns to a recording.

    Lines are flushed as they are written, so a run killed at any moment keeps
    every completion it had received -- or, inside ``collect_recording()``,
    collected for the caller to write. ``path`` may be None only for the latter.
    """

    def __init__(self, inner: ChatModel, path: str | Path | None) -> None:
        self.inner = inner
        self.name = inner.name
        self.supports_continuation = inner.supports_continuation
        self.path = _recording_path(path) if path is not None else None
        if self.path is not None:
            make_dir(self.path.parent)
        self._lock = threading.Lock()

    def _record(
        self, messages: Sequence[Message], options: CompletionOptions, completion: Completion
    ) -> None:
        # dumped once for both the key and the line: recording is ~4% of the runner's CPU
        # per model call (py-spy), and dumping every message twice was needless
        dumped = [m.model_dump() for m in messages]
        dumped_options = options.model_dump(mode="json")
        line = {
            "version": _VERSION,
            "key": _key(self.name, dumped, dumped_options),
            "model": self.name,
            "supports_continuation": self.supports_continuation,
            "request": {"messages": dumped, "options": dumped_options},
            "completion": completion.model_dump(mode="json"),
        }
        text = json.dumps(line, ensure_ascii=False) + "\n"
        buffer = _BUFFER.get()
        if buffer is not None:
            buffer.append(text)
            return
        if self.path is None:
            raise ConfigError("a RecordingModel without a path records only in collect_recording()")
        with self._lock, open_append(self.path) as f:
            f.write(text)

    def complete(
        self,
        messages: Sequence[Message],
        options: CompletionOptions | None = None,
        *,
        on_text: OnText | None = None,
    ) -> Completion:
        options = options or CompletionOptions()
        completion = self.inner.complete(messages, options, on_text=on_text)
        self._record(messages, options, completion)
        return completion

    async def acomplete(
        self,
        messages: Sequence[Message],
        options: CompletionOptions | None = None,
        *,
        on_text: OnText | None = None,
    ) -> Completion:
        options = options or CompletionOptions()
        completion = await self.inner.acomplete(messages, options, on_text=on_text)
        self._record(messages, options, completion)
        return completion

    def hidden_state(self, messages: Sequence[Message]) -> tuple[list[float], Usage]:
        """The wrapped model's (``HiddenStateModel``), not recorded: a deterministic
        function of the weights and the text, recomputed wherever the weights are."""
        return _hidden_state(self.inner, messages)


class ReplayModel:
    """Answers requests from a recording made by ``RecordingModel``.

    ``model`` picks one model's completions when the recording holds several
    (a generator and a critic, say); it may be omitted when there is only one.
    """

    def __init__(self, path: str | Path, *, model: str | None = None) -> None:
        self.path = _recording_path(path)
        lines = self._read_lines()
        names = sorted({line["model"] for line in lines})
        if model is None:
            if len(names) > 1:
                raise ConfigError(
                    f"{self.path} holds completions of several models ({', '.join(names)}): "
                    "pick one with replay:PATH#MODEL"
                )
            model = names[0] if names else "replay"
        elif model not in names:
            raise ConfigError(
                f"{self.path} has no completions of model {model!r} "
                f"(it has: {', '.join(names) or 'none'})"
            )
        self.name = model
        mine = [line for line in lines if line["model"] == model]
        self.supports_continuation = bool(mine and mine[0].get("supports_continuation", False))
        self._queues: dict[str, deque[Completion]] = defaultdict(deque)
        for line in mine:
            self._queues[line["key"]].append(Completion.model_validate(line["completion"]))
        self._lock = threading.Lock()

    def _read_lines(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            raise ConfigError(f"no recording at {self.path}: record a run first")
        lines = []
        with self.path.open(encoding="utf-8") as f:
            for number, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    line = json.loads(raw)
                    line["key"], line["model"], line["completion"]
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    # A run killed mid-write leaves at most a torn last line.
                    if raw.endswith("\n"):
                        raise ConfigError(f"{self.path}:{number} is not a recording line") from exc
                    continue
                lines.append(line)
        return lines

    def complete(
        self,
        messages: Sequence[Message],
        options: CompletionOptions | None = None,
        *,
        on_text: OnText | None = None,
    ) -> Completion:
        options = options or CompletionOptions()
        key = request_key(self.name, messages, options)
        with self._lock:
            queue = self._queues.get(key)
            if not queue:
                raise ReplayMissError(
                    f"replay miss: {self.path} has no (further) completion of {self.name} "
                    f"for request {key} ({_describe(messages)})",
                    key=key,
                )
            completion = queue.popleft()
        if on_text is not None and completion.text:
            on_text(completion.text)
        return completion

    async def acomplete(
        self,
        messages: Sequence[Message],
        options: CompletionOptions | None = None,
        *,
        on_text: OnText | None = None,
    ) -> Completion:
        await asyncio.sleep(0)  # a real await point, as with any other backend
        return self.complete(messages, options, on_text=on_text)


class ReplayThenLive:
    """A recording's answer where it has one for the request, the live model's otherwise.

    Counterfactual forks use it: requests a fork shares with its parent get the
    parent's completions exactly (byte for byte, even at temperature > 0); the
    first request that differs -- and every one after it -- goes to ``live``.
    ``replayed`` and ``live_calls`` count which way each request went.
    """

    def __init__(self, path: str | Path, live: ChatModel) -> None:
        self.live = live
        self.name = live.name
        self.supports_continuation = live.supports_continuation
        try:
            self._replay: ReplayModel | None = ReplayModel(path, model=live.name)
        except ConfigError:  # the parent never used this model: everything is live
            self._replay = None
        self.replayed = 0
        self.live_calls = 0
        self._lock = threading.Lock()

    def _count(self, replayed: bool) -> None:
        with self._lock:
            if replayed:
                self.replayed += 1
            else:
                self.live_calls += 1

    def _replayed(
        self, messages: Sequence[Message], options: CompletionOptions, on_text: OnText | None
    ) -> Completion | None:
        if self._replay is not None:
            try:
                completion = self._replay.complete(messages, options, on_text=on_text)
            except ReplayMissError:
                pass
            else:
                self._count(True)
                return completion
        self._count(False)
        return None

    def complete(
        self,
        messages: Sequence[Message],
        options: CompletionOptions | None = None,
        *,
        on_text: OnText | None = None,
    ) -> Completion:
        options = options or CompletionOptions()
        replayed = self._replayed(messages, options, on_text)
        return replayed or self.live.complete(messages, options, on_text=on_text)

    async def acomplete(
        self,
        messages: Sequence[Message],
        options: CompletionOptions | None = None,
        *,
        on_text: OnText | None = None,
    ) -> Completion:
        options = options or CompletionOptions()
        replayed = self._replayed(messages, options, on_text)
        return replayed or await self.live.acomplete(messages, options, on_text=on_text)

    def hidden_state(self, messages: Sequence[Message]) -> tuple[list[float], Usage]:
        """The live model's (``HiddenStateModel``)."""
        return _hidden_state(self.live, messages)


def _hidden_state(model: ChatModel, messages: Sequence[Message]) -> tuple[list[float], Usage]:
    if not isinstance(model, HiddenStateModel):
        raise UnsupportedRequest(f"{model.name} does not expose its hidden states")
    return model.hidden_state(messages)


def _describe(messages: Sequence[Message]) -> str:
    """A short human description of a request, for the miss message."""
    if not messages:
        return "no messages"
    last = messages[-1]
    snippet = " ".join(last.content.split())[:80]
    return f"{len(messages)} messages, last {last.role}: {snippet!r}"
