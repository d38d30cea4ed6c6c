"""One model served by several OpenAI-compatible servers (e.g. one vLLM per GPU node).

``openai:MODEL@URL1,URL2,...`` builds a ``ServerPool``. Each request goes to
the server with the fewest requests in flight (least outstanding requests:
a slow server gets fewer). A server that fails -- unreachable, timing out,
answering 5xx or 429 after the SDK's own retries -- is taken out for
``cooldown_s`` and the request is tried on the next one; after the cooldown
it gets requests again. Only when every server has failed on the request is
the error raised. Errors that another server would repeat (401, a request
the server rejects as malformed) are raised at once.

Every completion's usage counts its call under the server that answered
(``Usage.servers``), so a run reports how traffic was spread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence

from looplab.errors import (
    ConfigError,
    LLMConnectionError,
    LLMError,
    LLMRateLimitError,
    LLMServerError,
    LLMTimeoutError,
)
from looplab.llm._types import ChatModel, Completion, CompletionOptions, Message, OnText

__all__ = ["ServerPool"]

_FAILOVER = (LLMConnectionError, LLMTimeoutError, LLMServerError, LLMRateLimitError)
"""Errors after which another server may well succeed."""


class ServerPool:
    """Spreads one model's requests over ``members`` (ChatModels of the same model)."""

    def __init__(
        self,
        members: Sequence[ChatModel],
        *,
        name: str,
        labels: Sequence[str] | None = None,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not members:
            raise ConfigError("a server pool needs at least one server")
        self.members = list(members)
        self.labels = list(labels or [m.name for m in members])
        self.name = name
        self.supports_continuation = all(m.supports_continuation for m in members)
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self.outstanding = [0] * len(members)
        self.down_until = [0.0] * len(members)
        self.calls = [0] * len(members)
        self.failures = [0] * len(members)

    def _pick(self, tried: set[int]) -> int | None:
        """The untried server with the fewest requests in flight, preferring healthy ones."""
        with self._lock:
            now = self._clock()
            candidates = [i for i in range(len(self.members)) if i not in tried]
            if not candidates:
                return None
            healthy = [i for i in candidates if self.down_until[i] <= now]
            # all down: the one back soonest gets the request rather than failing it unasked
            pool = healthy or [min(candidates, key=lambda i: self.down_until[i])]
            chosen = min(pool, key=lambda i: (self.outstanding[i], self.calls[i], i))
            self.outstanding[chosen] += 1
            return chosen

    def _done(self, index: int, *, failed: bool) -> None:
        with self._lock:
            self.outstanding[index] -= 1
            if failed:
                self.failures[index] += 1
                self.down_until[index] = self._clock() + self.cooldown_s
            else:
                self.calls[index] += 1
                self.down_until[index] = 0.0

    def _stamp(self, completion: Completion, index: int) -> Completion:
        usage = completion.usage.model_copy(update={"servers": {self.labels[index]: 1}})
        return completion.model_copy(update={"usage": usage, "model": self.name})

    def complete(
        self,
        messages: Sequence[Message],
        options: CompletionOptions | None = None,
        *,
        on_text: OnText | None = None,
    ) -> Completion:
        tried: set[int] = set()
        last: LLMError | None = None
        while (index := self._pick(tried)) is not None:
            tried.add(index)
            try:
                completion = self.members[index].complete(messages, options, on_text=on_text)
            except _FAILOVER as exc:
                self._done(index, failed=True)
                last = exc
                continue
            except BaseException:
                self._done(index, failed=False)
                raise
            self._done(index, failed=False)
            return self._stamp(completion, index)
        assert last is not None
        raise type(last)(f"every server of {self.name} failed; the last: {last}") from last

    async def acomplete(
        self,
        messages: Sequence[Message],
        options: CompletionOptions | None = None,
        *,
        on_text: OnText | None = None,
    ) -> Completion:
        # The failover loop is written once, in ``complete``; a thread runs it (the
        # bookkeeping is thread-safe), as asyncio code would run any blocking client.
        return await asyncio.to_thread(self.complete, messages, options, on_text=on_text)
