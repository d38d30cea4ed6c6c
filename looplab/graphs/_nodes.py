"""Node factories: each returns a LangGraph node ``(state, config) -> partial update``.

Each node is written once, as a body of steps (``looplab.steps``), and
``as_node`` gives it both ways to run: its steps in the calling thread under
``invoke``/``stream``, awaited on the event loop under ``ainvoke`` -- so the
eval runner's loops wait on model calls without a thread each.

Nodes stream what happens inside them (generated text, tool calls) through
LangGraph's custom stream, so ``graph.stream(..., stream_mode="custom")``
shows a loop thinking in real time; outside a streamed run that is a no-op.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END

from looplab.agents import Critic, Generator, answer_logprob
from looplab.answers import answer_format, extract_answer, is_code_family
from looplab.errors import ConfigError
from looplab.graphs._events import CritiqueEvent, DecisionEvent, LoopEvent, TextEvent, ToolEvent
from looplab.graphs._policies import loop_usage
from looplab.graphs._state import LoopState, OracleCheck, StopPolicy, Truth
from looplab.llm import Message
from looplab.perturb import NO_FEEDBACK, FeedbackSpec, oracle_flip
from looplab.prompts import (
    answer_example,
    render_prompt,
    repair_request,
    solve_messages,
    task_request,
)
from looplab.records import Attempt, Critique, Generation, TaskView
from looplab.sandbox import Sandbox, acheck_program, check_program, context_from_prompt
from looplab.steps import Body, adrive, blocking, call, drive
from looplab.tools import example_turns, tool_system_prompt

__all__ = [
    "ORACLE_KEY",
    "STREAM_KEY",
    "TRUTH_KEY",
    "as_node",
    "as_route",
    "emit",
    "make_critique_node",
    "make_decide_node",
    "make_generate_node",
    "make_repair_node",
    "make_test_node",
    "route_after_decide",
]

ORACLE_KEY = "looplab_oracle"
"""Where a run puts the oracle's checker: ``config["configurable"][ORACLE_KEY]``."""

STREAM_KEY = "looplab_stream"
"""Set by ``stream_loop``: nodes stream generated text as it comes."""

TRUTH_KEY = "looplab_truth"
"""Where a run puts what perturbations take from ground truth (a ``Truth``)."""

Node = Any
"""A LangGraph node: what ``StateGraph.add_node`` takes."""


def as_node(function: Callable[..., Any], name: str | None = None) -> Node:
    """A node from ``function(state, config)``: a body of steps, or a plain function
    that never waits. Either way it runs inline under both ``invoke`` and ``ainvoke``
    (LangGraph would otherwise run a sync function in a thread under ``ainvoke``)."""
    if not inspect.isgeneratorfunction(function):
        return as_route(function, name)

    def run(state: LoopState, config: RunnableConfig) -> Any:
        return drive(function(state, config))

    async def arun(state: LoopState, config: RunnableConfig) -> Any:
        return await adrive(function(state, config))

    return _runnable(run, arun, name or function.__name__)


def as_route(function: Callable[..., Any], name: str | None = None) -> Node:
    """A conditional edge's function (or a node that never waits) made to run inline
    under ``ainvoke`` too: LangGraph runs a plain function there in a worker thread, a
    thread hop per edge taken (measured: ~7% of the runner's CPU per model call)."""

    async def arun(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return _runnable(function, arun, name or function.__name__)


def _runnable(run: Callable[..., Any], arun: Callable[..., Any], name: str) -> Node:
    try:  # what add_node makes of a plain function, with our async twin beside it
        from langgraph._internal._runnable import RunnableCallable
    except ImportError:  # a later langgraph moved it: the public wrapper does the same, slower
        from langchain_core.runnables import RunnableLambda

        return RunnableLambda(run, arun, name=name)
    return RunnableCallable(run, arun, name=name, trace=False)


def _configurable(config: RunnableConfig | None) -> dict[str, Any]:
    return (config or {}).get("configurable") or {}


def run_truth(config: RunnableConfig | None) -> Truth:
    """The run's ``Truth`` (an empty one when the run was given none)."""
    return _configurable(config).get(TRUTH_KEY) or Truth()


def emit(event: LoopEvent) -> None:
    """Send an event to a streamed run's custom stream; nothing happens otherwise."""
    try:
        from langgraph.config import get_stream_writer

        writer = get_stream_writer()
    except (RuntimeError, LookupError):  # called outside a graph run
        return
    writer(event)


def generation_messages(generator: Generator, task: TaskView) -> list[Message]:
    if not len(generator.tools):
        return solve_messages(task)
    system = render_prompt("solve_system", answer_format=answer_format(task.family))
    if len(generator.tools):
        system += "\n\n" + tool_system_prompt(generator.tools, generator.syntax)
    prompt = task_request(task)
    examples = example_turns(
        generator.tools, generator.syntax, answer_line=not is_code_family(task.family)
    )
    if not examples:  # one worked example of the answer convention: small models copy examples
        examples = answer_example(task.family)
    return [Message(role="system", content=system), *examples, Message(role="user", content=prompt)]


def repair_messages(
    generator: Generator, task: TaskView, previous: str, feedback: str
) -> list[Message]:
    """The conversation that asks for a repair: the task as first asked, the previous
    attempt, and the feedback on it."""
    # A worked repair example in this conversation was measured and left out: the
    # 135M embedded model still repeated its answer (1 of 17 wrong answers repaired
    # with the calculator's correction in hand, against 0 of 17 without the example).
    return [
        *generation_messages(generator, task),
        Message(role="assistant", content=previous),
        Message(role="user", content=repair_request(task.family, feedback)),
    ]


def make_attempt(
    generation: Generation,
    task: TaskView,
    iteration: int,
    kind: str,
    started: float,
    prefilled: int = 0,
) -> Attempt:
    answer = extract_answer(generation.text, task.family)
    final = generation.final_completion
    return Attempt(
        iteration=iteration,
        kind=kind,
        text=generation.text,
        prefilled=prefilled,
        answer=answer,
        answer_probability=answer_logprob(final, answer) if final is not None else None,
        tool_calls=generation.tool_calls,
        usage=generation.usage,
        latency_s=time.perf_counter() - started,
        finish_reason=generation.finish_reason,
        model=generation.model,
    )


def generate_answer(
    generator: Generator,
    messages: list[Message],
    node: str,
    config: RunnableConfig | None,
    prefix: str = "",
) -> Body[Generation]:
    """The generator's answer as steps, streaming to a streamed run."""

    # Text is streamed only to a streamed run: streaming costs token counts on some
    # servers (llama.cpp's sends no usage when streaming), so evals never stream.
    def on_text(text: str) -> None:
        emit(TextEvent(node, text))

    streamed = bool(_configurable(config).get(STREAM_KEY))
    return generator.body(
        messages,
        on_text=on_text if streamed else None,
        on_tool=lambda call: emit(ToolEvent(node, call)),
        prefix=prefix,
    )


def make_generate_node(generator: Generator) -> Node:
    """The first attempt at the task."""

    def generate(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task = state["task"]
        started = time.perf_counter()
        messages = generation_messages(generator, task)
        generation = yield from generate_answer(generator, messages, "generate", config)
        attempt = make_attempt(generation, task, 0, "initial", started)
        return {"attempts": [attempt], "iteration": 0}

    return as_node(generate)


def make_repair_node(generator: Generator, mode: str = "rewrite") -> Node:
    """A new attempt that sees the previous one and the latest feedback; in ``continue``
    mode, the previous attempt continued from the critique's correction (its text up to
    the first error, put right by the checker), asked as the task was first asked."""

    def repair(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task = state["task"]
        previous = state["attempts"][-1]
        critiques = state.get("critiques", [])
        latest = critiques[-1] if critiques else None
        iteration = state.get("iteration", 0) + 1
        started = time.perf_counter()
        prefilled = 0
        if mode == "continue" and latest is not None and latest.correction:
            prefilled = len(latest.correction)
            messages = generation_messages(generator, task)
            if _configurable(config).get(STREAM_KEY):  # a live view shows where it goes on from
                emit(TextEvent("repair", latest.correction))
            generation = yield from generate_answer(
                generator, messages, "repair", config, prefix=latest.correction
            )
        else:
            feedback = latest.feedback if latest is not None else ""
            messages = repair_messages(generator, task, previous.text, feedback)
            generation = yield from generate_answer(generator, messages, "repair", config)
        return {
            "attempts": [make_attempt(generation, task, iteration, "repair", started, prefilled)],
            "iteration": iteration,
        }

    return as_node(repair)


def make_critique_node(critic: Critic, feedback: FeedbackSpec | None = None) -> Node:
    """The critic judges the latest attempt; ``feedback`` perturbs what it says (an ablation)."""
    feedback = feedback or FeedbackSpec()

    def critique(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        attempt = state["attempts"][-1]
        update: dict[str, Any] = {}
        if feedback.kind == "oracle":  # grading may run the sandbox: off the event loop
            result = yield blocking(_oracle_critique, attempt, config, feedback.noise)
            update["oracle_used"] = True
        elif feedback.kind == "biased":
            wrong = run_truth(config).wrong_answer
            if wrong is None:
                raise ConfigError("biased feedback needs a numeric reference answer")
            note = render_prompt("critic_bias", answer=wrong)
            result = yield from critic.body(
                state["task"],
                attempt.text,
                iteration=attempt.iteration,
                note=note,
                answer_probability=attempt.answer_probability,
            )
            result = result.model_copy(update={"perturbation": f"biased:{wrong}"})
        else:
            task, text = state["task"], attempt.text
            result = yield from critic.body(
                task,
                text,
                iteration=attempt.iteration,
                answer_probability=attempt.answer_probability,
            )
            if feedback.kind == "none":
                result = result.model_copy(
                    update={"feedback": NO_FEEDBACK, "perturbation": "no_feedback"}
                )
        emit(CritiqueEvent("critique", result))
        return {"critiques": [result], **update}

    return as_node(critique)


def _oracle_critique(attempt: Attempt, config: RunnableConfig, noise: float) -> Critique:
    """Ground truth's verdict, flipped with probability ``noise`` (seeded per iteration)."""
    check: OracleCheck | None = _configurable(config).get(ORACLE_KEY)
    if check is None:
        raise ConfigError("oracle feedback needs ground truth: run it through an eval")
    right = check(attempt.answer)
    flipped = oracle_flip(noise, run_truth(config).seed, attempt.iteration)
    said_right = right != flipped
    return Critique(
        iteration=attempt.iteration,
        source="oracle",
        verdict="correct" if said_right else "incorrect",
        confidence=1.0,
        feedback="Your answer is correct." if said_right else "Your answer is wrong.",
        raw=f"oracle: {'right' if right else 'wrong'}" + (" (flipped)" if flipped else ""),
        perturbation="oracle_flipped" if flipped else None,
        model="oracle",
    )


def make_test_node(sandbox: Sandbox) -> Node:
    """Runs the task's *visible* tests on the latest attempt's code (never the hidden ones)."""

    def test(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task = state["task"]
        attempt = state["attempts"][-1]
        if not task.visible_tests or not task.entry_point:
            # Nothing to test against: recorded as no verdict; test_repair stops here.
            critique = Critique(
                iteration=attempt.iteration,
                source="tests",
                verdict=None,
                raw="no visible tests",
                model="sandbox:" + sandbox.isolation,
            )
            emit(CritiqueEvent("test", critique))
            return {"critiques": [critique]}
        started = time.perf_counter()
        if attempt.answer is None:
            verdict, feedback = "incorrect", "No code was found in your answer."
        else:
            result = yield call(
                check_program,
                acheck_program,
                sandbox,
                attempt.answer,
                task.visible_tests,
                task.entry_point,
                context=context_from_prompt(task.prompt),
            )
            verdict = "correct" if result.passed else "incorrect"
            feedback = (
                "All visible tests pass."
                if result.passed
                else (f"The tests failed:\n{result.detail}")
            )
        critique = Critique(
            iteration=attempt.iteration,
            source="tests",
            verdict=verdict,
            confidence=1.0,
            feedback=feedback,
            raw=feedback,
            latency_s=time.perf_counter() - started,
            model="sandbox:" + sandbox.isolation,
        )
        emit(CritiqueEvent("test", critique))
        return {"critiques": [critique]}

    return as_node(test)


def make_decide_node(
    policy: StopPolicy, *, max_attempts: int, max_total_tokens: int | None = None
) -> Node:
    """Applies the stop policy, then the hard caps that hold whatever the policy says."""

    def decide(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        oracle: OracleCheck | None = _configurable(config).get(ORACLE_KEY)
        if policy.uses_oracle and oracle is not None:  # grading may run the sandbox
            reason = yield blocking(policy.reason, state, oracle)
        else:
            reason = policy.reason(state, oracle)
        if reason is None and len(state.get("attempts", [])) >= max_attempts:
            reason = "max_iterations"
        over_tokens = (
            max_total_tokens is not None and loop_usage(state).total_tokens >= max_total_tokens
        )
        if reason is None and over_tokens:
            reason = "token_cap"
        update: dict[str, Any] = {"stop_reason": reason}
        if policy.uses_oracle:
            update["oracle_used"] = True
        emit(DecisionEvent("decide", reason))
        return update

    return as_node(decide)


def route_after_decide(state: LoopState) -> str:
    """Conditional edge: repair, or end when the decide node gave a stop reason."""
    return END if state.get("stop_reason") else "repair"
