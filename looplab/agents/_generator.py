"""The Generator: a model plus tools, answering through the decode loop."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from looplab.agents._decode import DecodeLoop, OnToolCall
from looplab.llm import ChatModel, CompletionOptions, Message, OnText
from looplab.records import Generation
from looplab.steps import Body, adrive, call, drive
from looplab.tools import TagSyntax, Tool, ToolRegistry, ToolSyntax

__all__ = ["Generator"]


class Generator:
    """Answers with ``model``, calling ``tools`` whenever the model writes a call.

    Results are spliced by true continuation when the model supports it and by
    a new turn otherwise. ``options.max_tokens`` is the budget of the whole
    answer, summed over every model call it takes.
    """

    def __init__(
        self,
        model: ChatModel,
        tools: ToolRegistry | Iterable[Tool] = (),
        *,
        syntax: ToolSyntax | None = None,
        options: CompletionOptions | None = None,
        max_tool_calls: int = 8,
        max_result_chars: int = 2000,
    ) -> None:
        self.model = model
        self.tools = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools)
        self.syntax = syntax or TagSyntax()
        self.options = options or CompletionOptions()
        self.max_tool_calls = max_tool_calls
        self.max_result_chars = max_result_chars

    def with_options(self, options: CompletionOptions) -> Generator:
        """The same generator with other sampling options (a copy; this one is unchanged)."""
        return Generator(
            self.model,
            self.tools,
            syntax=self.syntax,
            options=options,
            max_tool_calls=self.max_tool_calls,
            max_result_chars=self.max_result_chars,
        )

    def with_tools(self, tools: ToolRegistry | Iterable[Tool]) -> Generator:
        """The same generator with other tools (fault-injecting wrappers, say); a copy."""
        copy = self.with_options(self.options)
        copy.tools = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools)
        return copy

    def _loop(
        self, messages: Sequence[Message], on_tool: OnToolCall | None, prefix: str = ""
    ) -> DecodeLoop:
        return DecodeLoop(
            messages,
            on_tool=on_tool,
            tool_names=self.tools.names,
            syntax=self.syntax,
            options=self.options,
            continuation=self.model.supports_continuation,
            max_tool_calls=self.max_tool_calls,
            max_result_chars=self.max_result_chars,
            model_name=self.model.name,
            prefix=prefix,
        )

    def generate(
        self,
        messages: Sequence[Message],
        *,
        on_text: OnText | None = None,
        on_tool: OnToolCall | None = None,
        prefix: str = "",
    ) -> Generation:
        """Answer ``messages``; the answer starts with ``prefix`` when one is given."""
        return drive(self.body(messages, on_text=on_text, on_tool=on_tool, prefix=prefix))

    async def agenerate(
        self,
        messages: Sequence[Message],
        *,
        on_text: OnText | None = None,
        on_tool: OnToolCall | None = None,
        prefix: str = "",
    ) -> Generation:
        """The async twin of ``generate``: the same steps, awaited."""
        return await adrive(self.body(messages, on_text=on_text, on_tool=on_tool, prefix=prefix))

    def body(
        self,
        messages: Sequence[Message],
        *,
        on_text: OnText | None = None,
        on_tool: OnToolCall | None = None,
        prefix: str = "",
    ) -> Body[Generation]:
        """The answer as a body of steps (``looplab.steps``): model calls and tool runs."""
        loop = self._loop(messages, on_tool, prefix)
        model = self.model
        completion = None
        while not loop.done:
            request, options = loop.request()
            completion = yield call(
                model.complete, model.acomplete, request, options, on_text=on_text
            )
            pending = loop.feed(completion)
            if pending is not None:
                tool = self.tools.get(pending.tool)
                assert tool is not None  # the loop only hands back registered tools
                loop.resolve(pending, (yield call(tool.run, tool.arun, pending.input)))
        generation = loop.result()
        if completion is not None and completion.logprobs:
            return generation.model_copy(update={"final_completion": completion})
        return generation
