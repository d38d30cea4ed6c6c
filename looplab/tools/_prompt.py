"""Telling the model about its tools: a system prompt and worked examples as chat turns.

Measured on the embedded SmolLM2-135M: described only in the system prompt,
it wrote a calculator call 1 time in 20; after three worked examples as
earlier chat turns, 20 in 20. So both are provided.
"""

from __future__ import annotations

from looplab.llm import Message
from looplab.prompts import render_prompt
from looplab.tools._protocol import Tool, ToolRegistry
from looplab.tools._syntax import TagSyntax, ToolSyntax

__all__ = ["example_turns", "tool_system_prompt"]


def tool_system_prompt(tools: ToolRegistry, syntax: ToolSyntax | None = None) -> str:
    """The part of a system prompt that describes the tools and the call syntax."""
    syntax = syntax or TagSyntax()
    first = next(iter(tools), None)
    if first is None:
        return ""
    example = first.examples[0] if first.examples else None
    call = syntax.render_call(first.name, example.input if example else "...")
    result = syntax.render_result(example.output if example else "...")
    lines = [f"- {syntax.render_call(t.name, '...')}: {t.description}" for t in tools]
    return render_prompt(
        syntax.prompt,
        example_call=call,
        example_result=result,
        example_error=syntax.render_error("what went wrong"),
        tool_list="\n".join(lines),
    )


def example_turns(
    tools: ToolRegistry, syntax: ToolSyntax | None = None, *, answer_line: bool = False
) -> list[Message]:
    """Worked examples of every tool, as user/assistant turns to put before the question.

    ``answer_line`` ends each example with ``Answer: X``, so that a model that
    imitates its examples (a small one does) also keeps the answer convention.
    """
    syntax = syntax or TagSyntax()
    turns: list[Message] = []
    for tool in tools:
        turns.extend(_turns_for(tool, syntax, answer_line))
    return turns


def _turns_for(tool: Tool, syntax: ToolSyntax, answer_line: bool) -> list[Message]:
    turns = []
    for example in tool.examples:
        call = syntax.render_call(tool.name, example.input)
        answer = f"{call}{syntax.render_result(example.output)} {example.answer}"
        if answer_line and example.final is not None:
            answer += f"\nAnswer: {example.final}"
        turns.append(Message(role="user", content=example.question))
        turns.append(Message(role="assistant", content=answer))
    return turns
