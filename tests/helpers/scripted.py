"""A scripted chat model for deterministic tests of control flow.

Each call returns the next scripted text. Like a real provider it can honour
stop sequences (cut at the first one, finish ``stop``) or ignore them, and it
streams its text to ``on_text`` in small pieces that split tags apart.
"""

from __future__ import annotations

from looplab.llm import Completion
from looplab.records import Usage


class ScriptedModel:
    def __init__(self, script, *, continuation=True, honour_stops=True, name="scripted"):
        self.script = list(script)
        self.supports_continuation = continuation
        self.honour_stops = honour_stops
        self.name = name
        self.requests = []  # (messages, options) of every call

    def complete(self, messages, options=None, *, on_text=None):
        self.requests.append((list(messages), options))
        item = self.script.pop(0)
        if isinstance(item, Completion):  # a whole reply, log-probabilities and all
            return item
        text, finish = (item, "stop") if isinstance(item, str) else item
        if self.honour_stops and options is not None:
            cuts = [text.find(s) for s in options.stop if s in text]
            if cuts:
                text, finish = text[: min(cuts)], "stop"
        if on_text:
            for i in range(0, len(text), 3):
                on_text(text[i : i + 3])
        tokens = max(1, len(text) // 4)
        return Completion(
            text=text,
            finish_reason=finish,
            usage=Usage(prompt_tokens=10, completion_tokens=tokens, latency_s=0.001, calls=1),
            model=self.name,
        )

    async def acomplete(self, messages, options=None, *, on_text=None):
        return self.complete(messages, options, on_text=on_text)
