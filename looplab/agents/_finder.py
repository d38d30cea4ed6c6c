"""The MistakeFinder: which step of a chain of thought is the first wrong one?

The three prompting styles of BIG-Bench Mistake (Tyen et al. 2023):

- ``trace``: direct, trace-level -- the whole numbered chain in one prompt,
  answered with the number of the first wrong step (0 for none).
- ``step``: direct, step-level -- one prompt per step, showing the steps so
  far and asking whether the last one is correct; the first "no" is the
  location. Stops at the first mistake, so cost grows with its position.
- ``cot-step``: as ``step``, but the model reasons about the step before its
  verdict (the JSON's ``reasoning`` comes first, so it is written first).

Answers are constrained JSON with a worked example per style; an answer
that still does not parse is recorded unparsed (``verdict=None``), never
guessed.
"""

from __future__ import annotations

import time
from typing import get_args

from pydantic import BaseModel, Field

from looplab.llm import (
    ChatModel,
    CompletionOptions,
    Message,
    StructuredOutputError,
    parse_structured,
    schema_options,
)
from looplab.prompts import render_prompt
from looplab.records import Critique, FinderStyle, TaskView, Usage

__all__ = ["FINDER_STYLES", "MistakeFinder", "number_steps"]

FINDER_STYLES: tuple[str, ...] = get_args(FinderStyle)
"""The finder styles by name, in ``FinderStyle``'s order."""


class _TraceAnswer(BaseModel):
    first_wrong_step: int = Field(ge=0, le=99)


class _StepAnswer(BaseModel):
    correct: bool


class _CotStepAnswer(BaseModel):
    reasoning: str = Field(max_length=300)
    correct: bool


def number_steps(steps: list[str]) -> str:
    """``Step 1: ...`` lines, as every style shows them."""
    return "\n".join(f"Step {i}: {step}" for i, step in enumerate(steps, start=1))


_EXAMPLE_PROBLEM = "Mia has 12 pens. She buys 3 packs of 4 pens. How many pens does she have?"
_EXAMPLE_STEPS = ["3 * 4 = 12", "12 + 12 = 26", "Answer: 26"]


def _trace_examples() -> list[Message]:
    request = render_prompt(
        "mistake_request", problem=_EXAMPLE_PROBLEM, steps=number_steps(_EXAMPLE_STEPS)
    )
    return [
        Message(role="user", content=request),
        Message(role="assistant", content=_TraceAnswer(first_wrong_step=2).model_dump_json()),
    ]


def _step_examples(cot: bool) -> list[Message]:
    turns = []
    for number, correct, why in (
        (1, True, "3 * 4 is 12, so step 1 is right."),
        (2, False, "12 + 12 is 24, not 26, so step 2 is wrong."),
    ):
        request = render_prompt(
            "step_request",
            problem=_EXAMPLE_PROBLEM,
            steps=number_steps(_EXAMPLE_STEPS[:number]),
            number=str(number),
        )
        answer = (
            _CotStepAnswer(reasoning=why, correct=correct) if cot else _StepAnswer(correct=correct)
        )
        turns += [
            Message(role="user", content=request),
            Message(role="assistant", content=answer.model_dump_json()),
        ]
    return turns


class MistakeFinder:
    """Finds the first wrong step of a chain with ``model`` in one of three styles."""

    def __init__(
        self,
        model: ChatModel,
        *,
        style: FinderStyle = "trace",
        options: CompletionOptions | None = None,
    ) -> None:
        if style not in FINDER_STYLES:
            raise ValueError(f"unknown finder style {style!r}: use one of {FINDER_STYLES}")
        self.model = model
        self.style = style
        self.options = options or CompletionOptions(max_tokens=160)

    def _ask(
        self, messages: list[Message], schema: type[BaseModel]
    ) -> tuple[BaseModel | None, str, Usage]:
        """One structured question, retried once on unparsable output."""
        options = schema_options(schema, self.options)
        usage, raws = Usage(), []
        for _ in range(2):
            completion = self.model.complete(messages, options)
            usage += completion.usage
            raws.append(completion.text)
            try:
                return parse_structured(schema, completion), "\n---retry---\n".join(raws), usage
            except StructuredOutputError:
                continue
        return None, "\n---retry---\n".join(raws), usage

    def find(self, task: TaskView, steps: list[str], *, iteration: int = 0) -> Critique:
        """A critique whose ``mistake_step`` is the first wrong step (None: no mistake)."""
        started = time.perf_counter()
        if self.style == "trace":
            step, parsed, raw, usage = self._find_trace(task, steps)
        else:
            step, parsed, raw, usage = self._find_by_step(task, steps)
        common = dict(
            iteration=iteration,
            source="model",
            raw=raw,
            usage=usage,
            latency_s=time.perf_counter() - started,
            model=self.model.name,
        )
        if not parsed:
            return Critique(verdict=None, parsed=False, **common)
        return Critique(
            verdict="incorrect" if step else "correct",
            mistake_step=step,
            error_location=f"step {step}" if step else None,
            feedback=f"Step {step} is wrong." if step else "Every step is right.",
            **common,
        )

    def _find_trace(self, task: TaskView, steps: list[str]):
        messages = [
            Message(role="system", content=render_prompt("mistake_system")),
            *_trace_examples(),
            Message(
                role="user",
                content=render_prompt(
                    "mistake_request", problem=task.prompt, steps=number_steps(steps)
                ),
            ),
        ]
        answer, raw, usage = self._ask(messages, _TraceAnswer)
        if answer is None:
            return None, False, raw, usage
        step = answer.first_wrong_step  # type: ignore[attr-defined]
        # A step number past the end names no step: read as unparsed, not guessed.
        if step > len(steps):
            return None, False, raw, usage
        return (step or None), True, raw, usage

    def _find_by_step(self, task: TaskView, steps: list[str]):
        cot = self.style == "cot-step"
        system = render_prompt("step_cot_system" if cot else "step_system")
        schema = _CotStepAnswer if cot else _StepAnswer
        examples = _step_examples(cot)
        usage, raws = Usage(), []
        for number in range(1, len(steps) + 1):
            request = render_prompt(
                "step_request",
                problem=task.prompt,
                steps=number_steps(steps[:number]),
                number=str(number),
            )
            messages = [
                Message(role="system", content=system),
                *examples,
                Message(role="user", content=request),
            ]
            answer, raw, used = self._ask(messages, schema)
            usage += used
            raws.append(f"[step {number}] {raw}")
            if answer is None:
                return None, False, "\n".join(raws), usage
            if not answer.correct:  # type: ignore[attr-defined]
                return number, True, "\n".join(raws), usage
        return None, True, "\n".join(raws), usage
