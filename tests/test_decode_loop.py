"""The decode loop's mechanics, on scripted completions (deterministic)."""

from __future__ import annotations

import asyncio

import pytest

from looplab.agents import Generator
from looplab.errors import ToolError
from looplab.llm import CompletionOptions, Message, RecordingModel, ReplayModel
from looplab.records import Usage
from looplab.tools import TextTool, ToolExample
from tests.helpers.scripted import ScriptedModel

QUESTION = [Message(role="user", content="What is 17*23?")]


class Adder(TextTool):
    """A deterministic stand-in for the calculator: sums integers separated by '+'."""

    name = "calc"
    description = "adds"
    examples = (ToolExample("1+1?", "1+1", "2", "Two."),)

    def call(self, text: str) -> str:
        try:
            return str(sum(int(part) for part in text.split("+")))
        except ValueError:
            raise ToolError(f"cannot add {text!r}") from None


class Echo(TextTool):
    """Returns its input: shows exactly what the loop passed to the tool."""

    def __init__(self, name: str = "echo") -> None:
        self.name = name
        self.description = "echoes"

    def call(self, text: str) -> str:
        return text


class Broken(TextTool):
    name = "broken"
    description = "always fails unexpectedly"

    def call(self, text: str) -> str:
        raise RuntimeError("boom")


def generate(script, tools=None, **kwargs):
    model_kwargs = {k: kwargs.pop(k) for k in ("continuation", "honour_stops") if k in kwargs}
    model = ScriptedModel(script, **model_kwargs)
    tools = [Adder()] if tools is None else tools
    generation = Generator(model, tools, **kwargs).generate(QUESTION)
    return generation, model


def test_call_result_spliced_and_generation_continues():
    generation, model = generate(["Compute: <calc>2+3</calc> IGNORED", "so it is 5."])
    assert generation.text == "Compute: <calc>2+3</calc><result>5</result>so it is 5."
    (call,) = generation.tool_calls
    assert (call.tool, call.input, call.ok, call.output) == ("calc", "2+3", True, "5")
    # the second request continues the partial assistant message
    messages, options = model.requests[1]
    assert messages[-1] == Message(
        role="assistant", content="Compute: <calc>2+3</calc><result>5</result>"
    )
    assert "</calc>" in options.stop
    assert generation.finish_reason == "stop" and generation.continued


def test_usage_adds_up_over_every_model_call():
    generation, model = generate(["<calc>1+1</calc>", "<calc>2+2</calc>", "done"])
    assert generation.usage.calls == 3 == len(model.requests)
    assert generation.usage.prompt_tokens == 30
    assert generation.usage.completion_tokens == sum(
        max(1, len(t) // 4) for t in ["<calc>1+1", "<calc>2+2", "done"]
    )


def test_provider_ignoring_stop_sequences_is_parsed_after_the_fact():
    script = ["<calc>2+2</calc><result>5</result> The answer is 5.", " The answer is 4."]
    generation, _ = generate(script, honour_stops=False)
    assert generation.text == "<calc>2+2</calc><result>4</result> The answer is 4."
    assert generation.tool_calls[0].discarded_text == "<result>5</result> The answer is 5."


def test_closing_tag_split_across_stream_chunks():
    """The scripted provider streams 3-character pieces, so '</calc>' arrives split."""
    pieces: list[str] = []
    model = ScriptedModel(["x <calc>12+30</calc> junk", "42."], honour_stops=False)
    generation = Generator(model, [Adder()]).generate(QUESTION, on_text=pieces.append)
    assert generation.tool_calls[0].output == "42"
    assert "".join(pieces).startswith("x <calc>12+30</calc>")


def test_half_written_closing_tag_counts_as_closed():
    generation, _ = generate(["<calc>2+2</cal", "Four."], honour_stops=False)
    assert generation.tool_calls[0].input == "2+2" and generation.tool_calls[0].ok
    assert generation.text == "<calc>2+2</calc><result>4</result>Four."


def test_call_unclosed_at_max_tokens_is_an_error_the_model_sees():
    generation, _ = generate([("<calc>2+", "length"), "I ran out."])
    call = generation.tool_calls[0]
    assert not call.ok and call.problem == "unclosed"
    assert "<error>the call was left unclosed" in generation.text


def test_unknown_tool_is_an_error_listing_the_tools():
    generation, _ = generate(["<search>cats</search> more", "ok"], honour_stops=False)
    call = generation.tool_calls[0]
    assert call.tool == "search" and call.problem == "unknown_tool"
    assert "the tools are: calc" in call.error
    assert generation.text.startswith("<search>cats</search><error>unknown tool 'search'")


def test_prose_tags_are_not_tool_calls():
    generation, _ = generate(["It is <b>bold</b> and <code>x</code>."])
    assert (
        generation.tool_calls == [] and generation.text == "It is <b>bold</b> and <code>x</code>."
    )


def test_empty_call():
    generation, _ = generate(["<calc>   </calc>", "ok"])
    assert generation.tool_calls[0].problem == "empty"


def test_nested_call():
    generation, _ = generate(["<calc>1+<calc>2</calc>", "ok"])
    call = generation.tool_calls[0]
    assert call.problem == "nested" and "one call at a time" in call.error


def test_tool_error_is_spliced_as_error():
    generation, _ = generate(["<calc>two+2</calc>", "hmm"])
    call = generation.tool_calls[0]
    assert not call.ok and call.problem == "execution"
    assert "<error>cannot add 'two+2'</error>" in generation.text


def test_unexpected_tool_exception_becomes_an_error_result():
    generation, _ = generate(["<broken>x</broken>", "ok"], tools=[Broken()])
    assert generation.tool_calls[0].error == "internal error in broken: RuntimeError: boom"


def test_call_limit():
    script = ["<calc>1+1</calc>", "<calc>2+2</calc>", "<calc>3+3</calc>", "fine"]
    generation, _ = generate(script, max_tool_calls=2)
    assert [c.ok for c in generation.tool_calls] == [True, True, False]
    assert generation.tool_calls[2].problem == "limit"
    assert generation.text.endswith(
        "<error>no more tool calls allowed (2 made); answer now</error>fine"
    )


def test_rounds_are_capped_even_if_the_model_never_stops_calling():
    generation, model = generate(["<calc>1+1</calc>"] * 50, max_tool_calls=3)
    assert generation.finish_reason == "tool_limit"
    assert len(model.requests) == 3 + 4


def test_token_budget_is_for_the_whole_answer():
    long = "<calc>" + "1+" * 20 + "1</calc>"  # about 12 tokens each round
    generation, model = generate([long] * 10, options=CompletionOptions(max_tokens=30))
    assert generation.finish_reason == "length"
    budgets = [options.max_tokens for _, options in model.requests]
    assert budgets[0] == 30 and budgets == sorted(budgets, reverse=True)
    assert generation.usage.completion_tokens >= 30


def test_fenced_code_holding_the_closing_tag_is_resumed():
    echo = Echo()
    code = "```\nprint('</echo>')\n```"
    # the provider stops at the first </echo>, inside the string; the loop puts it back
    script = ["<echo>" + code + "</echo>", "')\n```</echo>", "Done."]
    generation, model = generate(script, tools=[echo])
    call = generation.tool_calls[0]
    assert call.ok and call.input == "print('</echo>')"
    assert model.requests[1][0][-1].content == "<echo>```\nprint('</echo>"


def test_fenced_code_without_continuation_is_unresumable():
    script = ["<echo>```\nprint('</echo>')\n```</echo>", "ok"]
    generation, _ = generate(script, tools=[Echo()], continuation=False)
    assert generation.tool_calls[0].problem == "unresumable"


def test_new_turn_mode_when_the_backend_cannot_continue():
    generation, model = generate(["Sum: <calc>2+3</calc>", "It is 5."], continuation=False)
    assert not generation.continued
    messages, _ = model.requests[1]
    assert messages[-2:] == [
        Message(role="assistant", content="Sum: <calc>2+3</calc>"),
        Message(role="user", content="<result>5</result>"),
    ]
    assert generation.text == "Sum: <calc>2+3</calc><result>5</result>It is 5."


def test_at_most_four_stop_sequences_whatever_the_number_of_tools():
    tools = [Echo(f"t{i}") for i in range(6)]
    script = ["<t5>five</t5> after", "end"]  # t5's closing tag is not a stop sequence
    generation, model = generate(script, tools=tools, options=CompletionOptions(stop=("STOP",)))
    stops = model.requests[0][1].stop
    assert len(stops) == 4 and stops[0] == "STOP"
    assert generation.tool_calls[0].output == "five"
    assert generation.tool_calls[0].discarded_text == " after"


def test_output_is_trimmed_to_the_budget_with_a_marker():
    generation, _ = generate(
        ["<echo>" + "x" * 50 + "</echo>", "ok"], tools=[Echo()], max_result_chars=10
    )
    assert generation.tool_calls[0].output == "x" * 10 + "\n[... 40 more characters cut]"


def test_tags_characters_inside_a_call_reach_the_tool_verbatim():
    generation, _ = generate(["<echo>a < b > c</echo>", "ok"], tools=[Echo()])
    assert generation.tool_calls[0].output == "a < b > c"


def test_on_tool_reports_every_call_in_order():
    seen = []
    model = ScriptedModel(["<calc>1+1</calc>", "<nope>x</nope> y", "end"], honour_stops=False)
    Generator(model, [Adder()]).generate(QUESTION, on_tool=seen.append)
    assert [(c.tool, c.ok) for c in seen] == [("calc", True), ("nope", False)]


def test_async_twin_gives_the_same_generation():
    script = ["<calc>2+3</calc>", "five"]
    sync = Generator(ScriptedModel(script), [Adder()]).generate(QUESTION)
    async_ = asyncio.run(Generator(ScriptedModel(script), [Adder()]).agenerate(QUESTION))
    assert sync.model_dump(exclude={"tool_calls"}) == async_.model_dump(exclude={"tool_calls"})
    assert [c.output for c in sync.tool_calls] == [c.output for c in async_.tool_calls]


def test_recorded_then_replayed_generation_is_identical(tmp_path):
    script = ["<calc>2+3</calc>", "<calc>5+5</calc>", "ten"]
    recorder = RecordingModel(ScriptedModel(script), tmp_path)
    live = Generator(recorder, [Adder()]).generate(QUESTION)
    replayed = Generator(ReplayModel(tmp_path), [Adder()]).generate(QUESTION)
    assert replayed.text == live.text and replayed.usage == live.usage
    assert [c.output for c in replayed.tool_calls] == ["5", "10"]


@pytest.mark.parametrize(
    "usage", [Usage(prompt_tokens=1, completion_tokens=2, latency_s=0.5, calls=1)]
)
def test_usage_records_add(usage):
    assert (usage + usage).total_tokens == 6 and (usage + usage).calls == 2
