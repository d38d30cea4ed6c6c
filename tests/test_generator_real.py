"""The decode loop end to end with real models and the real calculator."""

from __future__ import annotations

import pytest

from looplab.agents import Generator
from looplab.llm import CompletionOptions, Message, OpenAIModel
from looplab.tools import Calculator, ToolRegistry, example_turns, tool_system_prompt

pytestmark = pytest.mark.slow

TOOLS = ToolRegistry([Calculator()])


def ask(question: str) -> list[Message]:
    return [
        Message(role="system", content=tool_system_prompt(TOOLS)),
        *example_turns(TOOLS),
        Message(role="user", content=question),
    ]


def assert_well_formed(generation, product: str) -> None:
    assert generation.tool_calls, generation.text
    first = generation.tool_calls[0]
    assert first.tool == "calc" and first.ok and first.output == product
    # the call and its spliced result stand in the text, in order
    assert f"<calc>{first.input}</calc><result>{product}</result>" in generation.text
    # one model call to reach the call, one more per call to go on
    assert generation.usage.calls == len(generation.tool_calls) + 1
    assert generation.usage.prompt_tokens > 0 and generation.usage.completion_tokens > 0


def test_embedded_model_calls_the_calculator_by_continuation(embedded_model):
    generator = Generator(embedded_model, TOOLS, options=CompletionOptions(max_tokens=120))
    generation = generator.generate(ask("What is 37 times 8?"))
    assert generation.continued
    assert_well_formed(generation, "296")
    assert generation.finish_reason == "stop"


def test_server_model_calls_the_calculator_by_new_turns(llama_server):
    model = OpenAIModel("smollm2", base_url=llama_server)
    generator = Generator(model, TOOLS, options=CompletionOptions(max_tokens=120))
    generation = generator.generate(ask("What is 46 times 7?"))
    assert not generation.continued  # llama.cpp's server cannot continue a message
    assert_well_formed(generation, "322")
