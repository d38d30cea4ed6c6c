"""The methods every comparison cites, as prebuilt graphs: Chain-of-Verification,
Reflexion and self-generated tests.

- ``chain_of_verification`` (Dhuliawala et al. 2023, "Chain-of-Verification Reduces
  Hallucination in Large Language Models"): a draft, then verification questions
  planned from it, each answered on its own -- without the draft, so its errors are
  not copied (the paper's *factored* variant) -- then a revision that reads them.
- ``reflexion`` (Shinn et al. 2023, "Reflexion: Language Agents with Verbal
  Reinforcement Learning"): trials; after a failed one the model writes a short
  reflection, kept in an episodic memory that every later trial reads. A later trial
  starts afresh (it does not see its earlier answers, only the memory). Failure is
  signalled by the critic, by the visible tests for code, or by the oracle
  (``--feedback oracle``: the run is marked).
- ``self_tests`` (Reflexion's internal feedback for code; CodeT, Chen et al. 2023):
  the model writes tests for the function from the task alone, once; the sandbox
  runs them on each attempt, and their failures are the repair's feedback. The
  task's visible and hidden tests are never used.

Every model call each makes is recorded and counted (the verification questions and
answers, the reflections and the tests as critiques, each with its usage).
"""

from __future__ import annotations

import ast
import re
import time
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from looplab.agents import Critic
from looplab.answers import answer_format, extract_answer, is_code_family
from looplab.graphs._events import CritiqueEvent
from looplab.graphs._nodes import (
    as_node,
    as_route,
    emit,
    generate_answer,
    generation_messages,
    make_attempt,
    make_critique_node,
    make_decide_node,
    make_generate_node,
    make_repair_node,
    make_test_node,
    route_after_decide,
)
from looplab.graphs._policies import AnyOf, CriticSaysCorrect, MaxIterations, NothingChecked
from looplab.graphs._state import LoopSetup, LoopState
from looplab.llm import Message
from looplab.prompts import render_prompt, task_request
from looplab.records import Critique, TaskView, Usage
from looplab.sandbox import acheck_program, check_from_asserts, check_program
from looplab.steps import Body, call

__all__ = [
    "SELF_TESTS",
    "VERIFICATION_QUESTIONS",
    "chain_of_verification",
    "planned_questions",
    "reflexion",
    "self_tests",
    "written_tests",
]

VERIFICATION_QUESTIONS = 3
"""CoVe: the most verification questions planned per draft."""
SELF_TESTS = 3
"""self_tests: the test cases the model is asked for."""


def _plain(setup: LoopSetup):
    """The generator's model without tools: for planning, reflecting, writing tests."""
    return setup.generator.with_tools([])


# -- Chain-of-Verification ------------------------------------------------------------


def planned_questions(text: str, most: int = VERIFICATION_QUESTIONS) -> list[str]:
    """The verification questions in a plan: its lines that end with '?', numbering and
    bullets removed, at most ``most``.

    >>> planned_questions("1. What is 3*4?\\n- Is 12+5 17?\\nso that's it")
    ['What is 3*4?', 'Is 12+5 17?']
    """
    found = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:\d+[.)]|[-*•]|Q\d*:)\s*", "", line).strip()
        if line.endswith("?") and len(line) > 3:
            found.append(line)
    return list(dict.fromkeys(found))[:most]


def chain_of_verification(setup: LoopSetup) -> CompiledStateGraph:
    """Chain-of-Verification (Dhuliawala et al. 2023): draft, verify apart, revise.

    Factored: the verification questions planned from the draft are each answered as a
    task of their own, without the draft; the revision reads them. Two attempts."""
    generator, plain = setup.generator, _plain(setup)

    def verify(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task, draft = state["task"], state["attempts"][-1]
        started = time.perf_counter()
        plan_request = render_prompt(
            "cove_plan",
            question=task_request(task),
            draft=draft.text,
            count=str(VERIFICATION_QUESTIONS),
        )
        plan = yield from generate_answer(
            plain, [Message(role="user", content=plan_request)], "plan", config
        )
        usage, calls, lines = plan.usage, [], []
        for number, question in enumerate(planned_questions(plan.text)):
            # answered as a task of its own: the draft (and its errors) out of sight
            view = TaskView(id=f"{task.id}#check{number}", prompt=question, family="custom")
            answer = yield from generate_answer(
                generator, generation_messages(generator, view), "verify", config
            )
            usage, calls = usage + answer.usage, [*calls, *answer.tool_calls]
            said = extract_answer(answer.text, "custom") or answer.text.strip()[-200:]
            lines.append(f"Q: {question}\nA: {said}")
        critique = Critique(
            iteration=draft.iteration,
            source="verification",
            verdict=None,
            feedback="\n".join(lines) or "(no verification questions were planned)",
            raw=plan.text,
            tool_calls=calls,
            usage=usage,
            latency_s=time.perf_counter() - started,
            model=plain.model.name,
        )
        emit(CritiqueEvent("verify", critique))
        return {"critiques": [critique]}

    def revise(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task, draft = state["task"], state["attempts"][-1]
        checks = state["critiques"][-1]
        started = time.perf_counter()
        request = render_prompt(
            "cove_revise", checks=checks.feedback, answer_format=answer_format(task.family)
        )
        messages = [
            *generation_messages(generator, task),
            Message(role="assistant", content=draft.text),
            Message(role="user", content=request),
        ]
        generation = yield from generate_answer(generator, messages, "revise", config)
        attempt = make_attempt(generation, task, draft.iteration + 1, "repair", started)
        return {"attempts": [attempt], "iteration": attempt.iteration, "stop_reason": "revised"}

    graph = StateGraph(LoopState)
    graph.add_node("generate", make_generate_node(generator))
    graph.add_node("verify", as_node(verify))
    graph.add_node("revise", as_node(revise))
    graph.add_edge(START, "generate")
    graph.add_edge("generate", "verify")
    graph.add_edge("verify", "revise")
    graph.add_edge("revise", END)
    return graph.compile(checkpointer=setup.checkpointer, name="chain_of_verification")


# -- Reflexion ------------------------------------------------------------------------


def _memory(state: LoopState) -> list[str]:
    return [c.feedback for c in state.get("critiques", []) if c.source == "reflection"]


def reflexion(setup: LoopSetup) -> CompiledStateGraph:
    """Reflexion (Shinn et al. 2023): trials with an episodic memory of verbal reflections.

    A failed trial (the critic says incorrect; the visible tests fail, for code with a
    sandbox; or the oracle says wrong, marked) is followed by a reflection, and the next
    trial is asked the task afresh with every reflection so far."""
    generator, plain = setup.generator, _plain(setup)
    critic = setup.critic or Critic(generator.model)
    policy = setup.stop or AnyOf(CriticSaysCorrect(), MaxIterations(setup.max_iters))

    def trial(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task = state["task"]
        done = len(state.get("attempts", []))
        started = time.perf_counter()
        messages = generation_messages(generator, task)
        notes = _memory(state)
        if notes:
            listed = "\n".join(f"{i}. {note}" for i, note in enumerate(notes, start=1))
            request = render_prompt("reflexion_memory", request=messages[-1].content, notes=listed)
            messages = [*messages[:-1], Message(role="user", content=request)]
        generation = yield from generate_answer(generator, messages, "trial", config)
        kind = "initial" if done == 0 else "repair"
        return {
            "attempts": [make_attempt(generation, task, done, kind, started)],
            "iteration": done,
        }

    def reflect(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task, attempt, judged = state["task"], state["attempts"][-1], state["critiques"][-1]
        started = time.perf_counter()
        request = render_prompt("reflexion_reflect", feedback=judged.feedback or "(no details)")
        messages = [
            *generation_messages(plain, task),
            Message(role="assistant", content=attempt.text),
            Message(role="user", content=request),
        ]
        generation = yield from generate_answer(plain, messages, "reflect", config)
        note = " ".join(generation.text.split())[:600] or "(no reflection written)"
        critique = Critique(
            iteration=attempt.iteration,
            source="reflection",
            verdict=None,
            feedback=note,
            raw=generation.text,
            usage=generation.usage,
            latency_s=time.perf_counter() - started,
            model=plain.model.name,
        )
        emit(CritiqueEvent("reflect", critique))
        return {"critiques": [critique]}

    def evaluator(state: LoopState) -> str:
        task = state["task"]
        tests = setup.sandbox is not None and task.visible_tests and is_code_family(task.family)
        return "test" if tests else "critique"

    def after_decide(state: LoopState) -> str:
        return END if route_after_decide(state) == END else "reflect"

    graph = StateGraph(LoopState)
    graph.add_node("trial", as_node(trial))
    graph.add_node("critique", make_critique_node(critic, setup.feedback))
    if setup.sandbox is not None:
        graph.add_node("test", make_test_node(setup.sandbox))
        graph.add_edge("test", "decide")
    graph.add_node(
        "decide",
        make_decide_node(
            policy, max_attempts=setup.max_iters, max_total_tokens=setup.max_total_tokens
        ),
    )
    graph.add_node("reflect", as_node(reflect))
    graph.add_edge(START, "trial")
    targets = ["critique", "test"] if setup.sandbox is not None else ["critique"]
    graph.add_conditional_edges("trial", as_route(evaluator), targets)
    graph.add_edge("critique", "decide")
    graph.add_conditional_edges("decide", as_route(after_decide), ["reflect", END])
    graph.add_edge("reflect", "trial")
    return graph.compile(checkpointer=setup.checkpointer, name="reflexion")


# -- self-generated tests -------------------------------------------------------------


def written_tests(text: str, entry_point: str, most: int = SELF_TESTS) -> list[str]:
    """The ``assert`` lines a model wrote that parse and call ``entry_point``, at most
    ``most`` (from its last code block, else its whole text).

    >>> written_tests("```python\\nassert f(1) == 2\\nassert g(1) == 1\\nassert f(2 ==\\n```", "f")
    ['assert f(1) == 2']
    """
    blocks = re.findall(r"```(?:python|py)?[^\n]*\n(.*?)```", text, re.DOTALL)
    source = blocks[-1] if blocks else text
    found = []
    for line in source.splitlines():
        line = line.strip()
        if not line.startswith("assert ") or f"{entry_point}(" not in line:
            continue
        try:
            ast.parse(line)
        except SyntaxError:
            continue
        found.append(line)
    return list(dict.fromkeys(found))[:most]


def self_tests(setup: LoopSetup) -> CompiledStateGraph:
    """Self-generated tests (Reflexion's internal tests; CodeT): code repaired on its own tests.

    The model's tests, run in the sandbox, are the feedback. They are written once,
    from the task alone (not its visible tests, not the code), and rerun on every
    attempt."""
    if setup.sandbox is None:
        raise ValueError("self_tests needs setup.sandbox")
    sandbox, plain = setup.sandbox, _plain(setup)
    policy = setup.stop or AnyOf(
        CriticSaysCorrect(threshold=1.0), NothingChecked(), MaxIterations(setup.max_iters)
    )

    def own_test(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task, attempt = state["task"], state["attempts"][-1]
        started = time.perf_counter()
        update: dict[str, Any] = {}
        usage, written = Usage(), ""
        tests = state.get("own_tests")
        if tests is None and task.entry_point:  # the first check writes them
            request = render_prompt(
                "self_tests_write", task=task.prompt, entry_point=task.entry_point,
                count=str(SELF_TESTS),
            )  # fmt: skip
            generation = yield from generate_answer(
                plain, [Message(role="user", content=request)], "write_tests", config
            )
            usage, written = generation.usage, generation.text
            asserts = written_tests(generation.text, task.entry_point)
            tests = check_from_asserts(asserts, task.entry_point) if asserts else ""
            update["own_tests"] = tests
        verdict, feedback = None, ""
        if not tests:
            raw = "the model wrote no usable test" + (f":\n{written}" if written else "")
        elif attempt.answer is None:
            verdict, feedback = "incorrect", "No code was found in your answer."
            raw = feedback
        else:
            result = yield call(
                check_program, acheck_program, sandbox, attempt.answer, tests,
                task.entry_point, context="",
            )  # fmt: skip
            verdict = "correct" if result.passed else "incorrect"
            feedback = (
                "All your own tests pass."
                if result.passed
                else f"Your own tests failed:\n{result.detail}"
            )
            raw = f"{feedback}\n\nthe tests:\n{tests}"
        critique = Critique(
            iteration=attempt.iteration,
            source="self-tests",
            verdict=verdict,
            confidence=1.0 if verdict else None,
            feedback=feedback,
            raw=raw,
            usage=usage,
            latency_s=time.perf_counter() - started,
            model=plain.model.name,
        )
        emit(CritiqueEvent("own_tests", critique))
        return {"critiques": [critique], **update}

    graph = StateGraph(LoopState)
    graph.add_node("generate", make_generate_node(setup.generator))
    graph.add_node("own_tests", as_node(own_test))
    graph.add_node(
        "decide",
        make_decide_node(
            policy, max_attempts=setup.max_iters, max_total_tokens=setup.max_total_tokens
        ),
    )
    graph.add_node("repair", make_repair_node(setup.repairer or setup.generator))
    graph.add_edge(START, "generate")
    graph.add_edge("generate", "own_tests")
    graph.add_edge("own_tests", "decide")
    graph.add_conditional_edges("decide", as_route(route_after_decide), ["repair", END])
    graph.add_edge("repair", "own_tests")
    return graph.compile(checkpointer=setup.checkpointer, name="self_tests")
