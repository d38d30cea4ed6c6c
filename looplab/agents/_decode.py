"""The decode loop: generate until a tool call, run it, splice the result, go on.

``DecodeLoop`` is pure bookkeeping -- it builds each model request, reads
each completion and decides what happens next -- so the sync and async
drivers in ``_generator.py`` are a few lines each, and every robustness case
can be tested with replayed completions.

What it is robust to, and what becomes of each case:

- a provider that ignores stop sequences: the text is parsed after the fact;
  what follows the first call's closing tag is cut (kept in the record as
  ``discarded_text``);
- a closing tag eaten by a stop sequence, or half written (``</cal``) before
  the model ended its turn: the call counts as closed;
- a call still open when the token budget runs out: error ``unclosed``;
- code that contains the closing tag inside a ``` fence: the stop is put back
  and generation continues (with true continuation; otherwise error
  ``unresumable``);
- an unknown tool, an empty call, a call nested in another, one call too many:
  errors ``unknown_tool``, ``empty``, ``nested``, ``limit``.

Every error is spliced as the syntax's error text, so the model sees it, and
recorded as a ``ToolCall`` with ``ok=False``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from looplab.llm import MAX_STOP_SEQUENCES, Completion, CompletionOptions, Message
from looplab.records import Generation, ToolCall, ToolCallProblem, Usage
from looplab.tools import ToolResult, ToolSyntax, strip_fences

__all__ = ["CONTINUE_REQUEST", "DecodeLoop", "OnToolCall", "PendingCall", "trim_output"]

CONTINUE_REQUEST = "Continue your answer exactly where it stops."
"""New-turn mode only: how a backend without continuation is asked to go on from a prefix."""

OnToolCall = Callable[[ToolCall], None]
"""Called with each tool call's record as soon as its result or error is spliced."""


def trim_output(text: str, budget: int) -> str:
    """Cut a tool's output to ``budget`` characters with a visible marker.

    >>> trim_output("abcdef", 4)
    'abcd\\n[... 2 more characters cut]'
    """
    if len(text) <= budget:
        return text
    return f"{text[:budget]}\n[... {len(text) - budget} more characters cut]"


@dataclass(frozen=True)
class PendingCall:
    """A well-formed call the driver must execute and hand back with ``resolve``."""

    tool: str
    input: str
    call_text: str
    """The answer's text up to and including the call's closing tag."""
    discarded_text: str


class DecodeLoop:
    """The state of one answer being decoded with tools."""

    def __init__(
        self,
        messages: Sequence[Message],
        *,
        tool_names: Sequence[str],
        syntax: ToolSyntax,
        options: CompletionOptions,
        continuation: bool,
        max_tool_calls: int = 8,
        max_result_chars: int = 2000,
        model_name: str = "",
        on_tool: OnToolCall | None = None,
        prefix: str = "",
    ) -> None:
        self.base = list(messages)
        self.on_tool = on_tool
        self.names = tuple(tool_names)
        self.syntax = syntax
        self.options = options
        self.continuation = continuation
        self.max_tool_calls = max_tool_calls
        self.max_result_chars = max_result_chars
        self.model_name = model_name
        # The answer so far, and the index where the model's unread text starts. A
        # ``prefix`` (backtracking: the steps kept before a mistake) is the answer's start.
        self.text = prefix
        self.scan_from = len(prefix)
        # New-turn mode: the conversation after ``base``, and where the open turn starts.
        self.turns: list[Message] = []
        if prefix and not continuation:
            self.turns = [
                Message(role="assistant", content=prefix),
                Message(role="user", content=CONTINUE_REQUEST),
            ]
        self.turn_start = len(prefix)
        self.remaining = options.max_tokens
        self.rounds_left = max_tool_calls + 4
        self.calls: list[ToolCall] = []
        self.executed = 0
        self.usage = Usage()
        self.finish_reason: str | None = None

    @property
    def done(self) -> bool:
        """Whether the answer is finished (the model stopped, not at a tool call)."""
        return self.finish_reason is not None

    def stop_sequences(self) -> tuple[str, ...]:
        """The caller's own stops first, then tool closing tags, capped at the API's four.

        Closing tags beyond the cap are still found by parsing after the fact.
        """
        stops = list(self.options.stop)
        for stop in self.syntax.stop_sequences(self.names):
            if stop not in stops:
                stops.append(stop)
        return tuple(stops[:MAX_STOP_SEQUENCES])

    def request(self) -> tuple[list[Message], CompletionOptions]:
        """The next model request."""
        options = self.options.model_copy(
            update={"max_tokens": self.remaining, "stop": self.stop_sequences()}
        )
        if self.continuation:
            partial = [Message(role="assistant", content=self.text)] if self.text else []
            return self.base + partial, options
        # Every spliced result closed a turn, so the next one starts fresh.
        return self.base + self.turns, options

    def feed(self, completion: Completion) -> PendingCall | None:
        """Read one completion. Returns a call to execute, or None (finished or go on)."""
        self.usage += completion.usage
        self.remaining -= completion.usage.completion_tokens
        self.rounds_left -= 1
        full = self.text + completion.text
        match = self.syntax.find_call(full, self.names, self.scan_from)
        if match is None:
            self.text = full
            self._finish(completion.finish_reason)
            return None

        out_of_tokens = completion.finish_reason == "length" or self.remaining <= 0
        close_tag = self.syntax.close_tag(match.name)
        discarded = ""
        if match.closed:
            call_text, discarded = full[: match.end], full[match.end :]
            body = match.body
        elif out_of_tokens:
            self.text = full + close_tag
            return self._reject(
                match.name,
                match.body,
                "unclosed",
                "the call was left unclosed when the token budget ran out",
            )
        elif match.fence_open:
            # The stop sequence matched inside fenced code: it belongs to the code.
            if self.continuation:
                self.text = full + close_tag
                self._finish_if_exhausted()
                return None
            self.text = full + close_tag
            return self._reject(
                match.name,
                match.body,
                "unresumable",
                "the code contains the closing tag; this backend cannot resume it",
            )
        else:
            body = self.syntax.strip_partial_close(match.body, match.name)
            call_text = full[: match.start] + self.syntax.open_tag(match.name) + body + close_tag

        self.text = call_text
        problem = self._problem(match.name, body, known=match.known)
        if problem is not None:
            return self._reject(match.name, body, *problem, discarded=discarded)
        return PendingCall(match.name, strip_fences(body), call_text, discarded)

    def _problem(self, name: str, body: str, *, known: bool) -> tuple[ToolCallProblem, str] | None:
        if not known:
            listed = ", ".join(self.names) or "none"
            return "unknown_tool", f"unknown tool {name!r}; the tools are: {listed}"
        if not strip_fences(body):
            return "empty", f"empty call: write the input between the {name} tags"
        if not body.lstrip().startswith("```"):
            inner = self.syntax.nested_call(body, self.names)
            if inner is not None:
                return "nested", f"a {inner} call inside a {name} call: make one call at a time"
        if self.executed >= self.max_tool_calls:
            return "limit", f"no more tool calls allowed ({self.max_tool_calls} made); answer now"
        return None

    def resolve(self, call: PendingCall, result: ToolResult) -> None:
        """Splice the result of an executed call and record it."""
        self.executed += 1
        if result.ok:
            output = trim_output(result.output, self.max_result_chars)
            spliced = self.syntax.render_result(output)
            record = ToolCall(
                tool=call.tool,
                input=call.input,
                ok=True,
                output=output,
                ms=result.elapsed_s * 1000,
                discarded_text=call.discarded_text,
                fault=result.fault,
                true_output=result.true_output,
            )
        else:
            error = trim_output(result.error, self.max_result_chars)
            spliced = self.syntax.render_error(error)
            record = ToolCall(
                tool=call.tool,
                input=call.input,
                ok=False,
                error=error,
                problem="execution",
                ms=result.elapsed_s * 1000,
                discarded_text=call.discarded_text,
                fault=result.fault,
                true_output=result.true_output,
            )
        self._splice(spliced, record)

    def _reject(
        self, tool: str, body: str, problem: ToolCallProblem, message: str, *, discarded: str = ""
    ) -> None:
        record = ToolCall(
            tool=tool,
            input=strip_fences(body),
            ok=False,
            error=message,
            problem=problem,
            discarded_text=discarded,
        )
        self._splice(self.syntax.render_error(message), record)
        return None

    def _splice(self, spliced: str, record: ToolCall) -> None:
        self.calls.append(record)
        if self.on_tool is not None:
            self.on_tool(record)
        if not self.continuation:
            self.turns.append(Message(role="assistant", content=self.text[self.turn_start :]))
            self.turns.append(Message(role="user", content=spliced))
        self.text += spliced
        self.scan_from = len(self.text)
        self.turn_start = len(self.text)
        self._finish_if_exhausted()

    def _finish_if_exhausted(self) -> None:
        if self.remaining <= 0:
            self._finish("length")
        elif self.rounds_left <= 0:
            self._finish("tool_limit")

    def _finish(self, reason: str) -> None:
        self.finish_reason = reason or "stop"

    def result(self) -> Generation:
        """The finished answer as a record."""
        return Generation(
            text=self.text,
            tool_calls=list(self.calls),
            usage=self.usage,
            finish_reason=self.finish_reason or "stop",
            model=self.model_name,
            continued=self.continuation,
        )
