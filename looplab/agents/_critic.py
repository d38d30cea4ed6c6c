"""The Critic: a model's structured verdict on an attempt, optionally after checking with tools.

The verdict is asked for as JSON matching ``CriticVerdict``: constrained
decoding does the work on backends that support it (llama.cpp grammars,
``response_format`` on OpenAI-compatible servers). Where the output still
does not parse, the critic is asked once more; if that fails too the
critique is recorded as unparsed (``verdict=None``) -- never guessed.

With tools (CRITIC, Gou et al.), the critic first writes a verification
with tool calls (the decode loop), then gives its verdict in view of it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import get_args

from pydantic import BaseModel, Field

from looplab.agents._confidence import agreement, p_true
from looplab.agents._generator import Generator
from looplab.agents._verifier import Candidate, Verifier
from looplab.answers import extract_answer, vote_key
from looplab.llm import (
    ChatModel,
    Completion,
    CompletionOptions,
    Message,
    StructuredOutputError,
    parse_structured,
    schema_options,
)
from looplab.prompts import render_prompt, solve_messages
from looplab.records import (
    CriticConfidence,
    Critique,
    Generation,
    TaskView,
    ToolCall,
    Usage,
    Verdict,
)
from looplab.steps import Body, adrive, call, drive
from looplab.tools import Tool, ToolRegistry, example_turns, tool_system_prompt

__all__ = ["CRITIC_CONFIDENCE", "SAMPLE_TEMPERATURE", "Critic", "CriticVerdict"]

CRITIC_CONFIDENCE: tuple[str, ...] = get_args(CriticConfidence)
"""Where a critic's confidence can come from: what it writes; P(True), alone or with
answers it sampled shown first (Kadavath et al. 2022); the share of its sampled answers
that agree with the judged one (self-consistency); the probability the generator
gave the answer's own tokens (``answer_logprob``: no critic call at all); or a trained
verifier's (``learned``: ``looplab.agents.Verifier``)."""
SAMPLE_TEMPERATURE = 1.0
"""The critic's sampled answers are drawn at this temperature, as Kadavath et al.'s."""


class CriticVerdict(BaseModel):
    """The JSON a critic answers with: its reasons first, then the verdict.

    The order is the order the model writes in (constrained decoding follows the
    schema): a verdict written before any reasons was measured to copy the last
    worked example's (19 of 20 answers called correct, 17 of them wrong); written after
    its own feedback it follows what the feedback says."""

    # Length caps become grammar bounds under constrained decoding: a small model
    # that loops inside a string is made to close it.
    feedback: str = Field(max_length=400)
    error_location: str | None = Field(default=None, max_length=100)
    verdict: Verdict
    confidence: float = Field(ge=0.0, le=1.0)


class Critic:
    """Judges attempts with ``model``; with ``tools``, verifies with them first."""

    def __init__(
        self,
        model: ChatModel,
        *,
        tools: ToolRegistry | Iterable[Tool] = (),
        options: CompletionOptions | None = None,
        verify_options: CompletionOptions | None = None,
        confidence: str = "verbal",
        threshold: float = 0.5,
        samples: int = 5,
        verifier: Verifier | None = None,
    ) -> None:
        if confidence not in CRITIC_CONFIDENCE:
            raise ValueError(
                f"critic confidence {confidence!r}: use one of {', '.join(CRITIC_CONFIDENCE)}"
            )
        if (confidence == "learned") != (verifier is not None):
            raise ValueError("a learned critic confidence needs a verifier, and only it does")
        if verifier is not None:
            verifier.check_model(model)
        self.verifier = verifier
        if samples < 1:
            raise ValueError(f"critic samples must be at least 1, not {samples}")
        self.confidence = confidence
        self.threshold = threshold
        self.samples = samples
        """Answers the critic samples for ``p_true_samples`` and ``self_consistency``."""
        self.model = model
        self.tools = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools)
        self.options = options or CompletionOptions(max_tokens=256)
        self.verify_options = verify_options or CompletionOptions(max_tokens=256)

    def _request(self, task: TaskView, answer_text: str, note: str | None = None) -> Message:
        content = render_prompt("critic_request", problem=task.prompt, answer=answer_text)
        if note:
            content += "\n\n" + note
        return Message(role="user", content=content)

    def _verify(self, task: TaskView, answer_text: str, note: str | None) -> Body[Generation]:
        """The tool-using verification pass (only with tools)."""
        system = render_prompt("critic_verify") + "\n\n" + tool_system_prompt(self.tools)
        messages = [
            Message(role="system", content=system),
            *example_turns(self.tools),
            self._request(task, answer_text, note),
        ]
        generator = Generator(self.model, self.tools, options=self.verify_options)
        return generator.body(messages)

    def critique(
        self,
        task: TaskView,
        answer_text: str,
        *,
        iteration: int,
        note: str | None = None,
        answer_probability: float | None = None,
        others: Sequence[str | None] | None = None,
    ) -> Critique:
        """Judge one attempt's text. ``note`` is added to the request (a biased hint, say);
        ``answer_probability`` is the attempt's own (``Attempt.answer_probability``), the
        confidence of an ``answer_logprob`` critic; ``others`` the other sampled answers
        of the task, for a learned verifier's agreement feature (without them, the critic
        samples its own)."""
        body = self.body(
            task,
            answer_text,
            iteration=iteration,
            note=note,
            answer_probability=answer_probability,
            others=others,
        )
        return drive(body)

    async def acritique(
        self,
        task: TaskView,
        answer_text: str,
        *,
        iteration: int,
        note: str | None = None,
        answer_probability: float | None = None,
        others: Sequence[str | None] | None = None,
    ) -> Critique:
        """The async twin of ``critique``: the same steps, awaited."""
        body = self.body(
            task,
            answer_text,
            iteration=iteration,
            note=note,
            answer_probability=answer_probability,
            others=others,
        )
        return await adrive(body)

    def body(
        self,
        task: TaskView,
        answer_text: str,
        *,
        iteration: int,
        note: str | None = None,
        answer_probability: float | None = None,
        others: Sequence[str | None] | None = None,
    ) -> Body[Critique]:
        """The critique as a body of steps (``looplab.steps``)."""
        started = time.perf_counter()
        if self.confidence == "learned":
            return (
                yield from self._learned(
                    task, answer_text, iteration, started, answer_probability, others
                )
            )
        if self.confidence == "answer_logprob":
            raw = "the answer tokens' probability, read off the attempt's own completion"
            return self._threshold(answer_probability, iteration, started, Usage(), raw)
        if self.confidence != "verbal":
            return (yield from self._from_probability(task, answer_text, iteration, started))
        tool_calls: list[ToolCall] = []
        usage = Usage()
        messages = [
            Message(role="system", content=render_prompt("critic_system")),
            *_EXAMPLES,
            self._request(task, answer_text, note),
        ]
        if len(self.tools):
            verification = yield from self._verify(task, answer_text, note)
            tool_calls, usage = verification.tool_calls, verification.usage
            messages.append(Message(role="assistant", content=verification.text))
            messages.append(Message(role="user", content=render_prompt("critic_system")))
        options = schema_options(CriticVerdict, self.options)
        model = self.model
        completion = yield call(model.complete, model.acomplete, messages, options)
        usage += completion.usage
        raw = completion.text
        parsed = _parse(completion)
        if parsed is None:  # one retry, reminding the model of the format
            retry = [
                *messages,
                Message(role="assistant", content=completion.text),
                Message(role="user", content=render_prompt("critic_retry")),
            ]
            completion = yield call(model.complete, model.acomplete, retry, options)
            usage += completion.usage
            raw = f"{raw}\n---retry---\n{completion.text}"
            parsed = _parse(completion)
        common = dict(
            iteration=iteration,
            source="model",
            raw=raw,
            tool_calls=tool_calls,
            usage=usage,
            latency_s=time.perf_counter() - started,
            model=self.model.name,
        )
        if parsed is None:
            return Critique(verdict=None, parsed=False, **common)
        return Critique(
            verdict=parsed.verdict,
            confidence=parsed.confidence,
            feedback=parsed.feedback,
            error_location=parsed.error_location or None,
            **common,
        )

    def _sample_answers(self, task: TaskView) -> Body[list[Completion]]:
        """``samples`` answers to the task from the critic's own model, each seeded."""
        seed, model, messages = self.options.seed, self.model, solve_messages(task)
        completions = []
        for i in range(self.samples):
            options = CompletionOptions(
                max_tokens=self.options.max_tokens,
                temperature=SAMPLE_TEMPERATURE,
                seed=None if seed is None else seed + i,
            )
            completions.append((yield call(model.complete, model.acomplete, messages, options)))
        return completions

    def _from_probability(
        self, task: TaskView, answer_text: str, iteration: int, started: float
    ) -> Body[Critique]:
        """The verdict from a probability that the answer is right, against the
        threshold: P(True) (with sampled answers shown first for ``p_true_samples``), or
        the share of sampled answers that agree (``self_consistency``). A probability
        says nothing of where an answer is wrong, so the feedback only says how likely
        it is to be."""
        usage, raw = Usage(), []
        samples: list[str | None] = []
        if self.confidence in ("p_true_samples", "self_consistency"):
            completions = yield from self._sample_answers(task)
            samples = [extract_answer(c.text, task.family) for c in completions]
            usage = sum((c.usage for c in completions), Usage())
            raw.append("samples: " + ", ".join(str(s) for s in samples))
        if self.confidence == "self_consistency":
            answer = extract_answer(answer_text, task.family)
            value = agreement(answer, samples, lambda a, b: vote_key(a) == vote_key(b))
        else:
            ideas = [s for s in samples if s]
            value, completion = yield from p_true(self.model, task.prompt, answer_text, ideas)
            usage += completion.usage
            raw.append(completion.text)
        return self._threshold(value, iteration, started, usage, "\n".join(raw), samples)

    def _learned(
        self,
        task: TaskView,
        answer_text: str,
        iteration: int,
        started: float,
        answer_probability: float | None,
        others: Sequence[str | None] | None,
    ) -> Body[Critique]:
        """The trained verifier's probability (``Verifier.score``); the answers its
        agreement feature compares with are the task's other samples where the graph
        drew some, else the critic's own (their cost counted)."""
        assert self.verifier is not None
        usage, samples = Usage(), None
        if others is None and "agreement" in self.verifier.features:
            completions = yield from self._sample_answers(task)
            samples = [extract_answer(c.text, task.family) for c in completions]
            usage = sum((c.usage for c in completions), Usage())
            others = samples
        candidate = Candidate(
            prompt=task.prompt,
            text=answer_text,
            answer=extract_answer(answer_text, task.family),
            answer_probability=answer_probability,
            others=None if others is None else tuple(others),
        )
        value, which, cost = yield from self.verifier.score(candidate, self.model)
        raw = f"learned verifier: {which}"
        if samples is not None:
            raw += "\nsamples: " + ", ".join(str(s) for s in samples)
        return self._threshold(value, iteration, started, usage + cost, raw)

    def _threshold(
        self,
        value: float | None,
        iteration: int,
        started: float,
        usage: Usage,
        raw: str,
        samples: list[str | None] | None = None,
    ) -> Critique:
        """The critique of a probability that the answer is right: the verdict is the
        probability against the threshold (None: no probability, recorded unparsed)."""
        common = dict(
            iteration=iteration,
            source="model",
            confidence_source=self.confidence,
            raw=raw,
            usage=usage,
            latency_s=time.perf_counter() - started,
            model="" if self.confidence == "answer_logprob" else self.model.name,
        )
        if value is None:
            return Critique(verdict=None, parsed=False, **common)
        right = value >= self.threshold
        if self.confidence == "self_consistency" and samples:
            agreeing = round(value * len(samples))
            said = f"{agreeing} of {len(samples)} independent answers agree with yours."
        elif self.confidence == "answer_logprob":
            said = f"You gave your answer's tokens a mean probability of {value:.2f}."
        else:
            said = f"A check estimates that your answer is right with probability {value:.2f}."
        feedback = said + ("" if right else " Check each step and correct what is wrong.")
        return Critique(
            verdict="correct" if right else "incorrect",
            confidence=value,
            feedback=feedback,
            **common,
        )


def _example(problem: str, answer: str, verdict: CriticVerdict) -> list[Message]:
    request = render_prompt("critic_request", problem=problem, answer=answer)
    return [
        Message(role="user", content=request),
        Message(role="assistant", content=verdict.model_dump_json()),
    ]


# Worked examples of the verdict format: two right answers and two wrong ones, in
# varied wording, alternating, so that copying an example's form is not copying a
# verdict (small models copy the format from examples far better than from a
# description, and a single example each way left the verdict a constant).
_EXAMPLES = [
    *_example(
        "Ann has 12 apples. Then Ann buys 9 more. How many apples does Ann have now?",
        "Ann has 12 + 9 = 21 apples.\nAnswer: 21",
        CriticVerdict(feedback="12 + 9 = 21, so 21 is right.", verdict="correct", confidence=0.8),
    ),
    *_example(
        "Bo has 35 cards. Then Bo gives away 17. How many cards does Bo have now?",
        "Bo has 35 - 17 = 22 cards left.\nAnswer: 22",
        CriticVerdict(
            feedback="35 - 17 is 18, not 22. The answer should be 18.",
            error_location="35 - 17 = 22",
            verdict="incorrect",
            confidence=0.85,
        ),
    ),
    *_example(
        "A box holds 6 rows of 7 eggs. How many eggs are in the box?",
        "6 times 7 is 42.\nAnswer: 42",
        CriticVerdict(feedback="6 * 7 = 42 is right.", verdict="correct", confidence=0.9),
    ),
    *_example(
        "Cy has 48 stamps and shares them equally among 4 friends. How many does each friend get?",
        "48 / 4 = 14.\nAnswer: 14",
        CriticVerdict(
            feedback="48 / 4 is 12, not 14. Each friend gets 12.",
            error_location="48 / 4 = 14",
            verdict="incorrect",
            confidence=0.8,
        ),
    ),
]


def _parse(completion: Completion) -> CriticVerdict | None:
    try:
        return parse_structured(CriticVerdict, completion)
    except StructuredOutputError:
        return None
