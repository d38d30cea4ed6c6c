"""Loops that answer by majority vote: self-consistency and multi-agent debate.

Both sample at temperature 1 where the generator's is 0 (identical greedy samples
would make a vote of one), with seeds that differ per sample, and both record their
``Vote`` (counts, winner, whether it was a tie and the rule that broke it) on the
trajectory; ``chosen`` points at the first attempt that gave the winning answer.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from looplab.agents import Generator
from looplab.answers import answer_format, majority_vote
from looplab.graphs._events import DecisionEvent
from looplab.graphs._nodes import (
    as_node,
    as_route,
    emit,
    generate_answer,
    generation_messages,
    make_attempt,
)
from looplab.graphs._state import LoopSetup, LoopState
from looplab.llm import Message
from looplab.prompts import render_prompt
from looplab.records import Attempt
from looplab.steps import Body

__all__ = ["debate", "debate_messages", "self_consistency"]


def sample_generator(generator: Generator, index: int) -> Generator:
    """The generator for sample ``index``: temperature 1 if greedy, a seed per sample."""
    base = generator.options
    return generator.with_options(
        base.model_copy(
            update={"temperature": base.temperature or 1.0, "seed": (base.seed or 0) + index}
        )
    )


def _answer_then_vote(
    setup: LoopSetup, name: str, step: str, answer: Any, answers: int, *, voters: int
) -> CompiledStateGraph:
    """The graph both loops share: the ``answer`` node runs until there are ``answers``
    attempts, then the last ``voters`` of them vote."""

    def vote(state: LoopState, config: RunnableConfig) -> dict[str, Any]:
        attempts = state["attempts"]
        result, chosen = majority_vote(attempts, list(range(len(attempts) - voters, len(attempts))))
        emit(DecisionEvent("vote", "vote", result))
        return {"chosen": chosen, "vote": result, "stop_reason": "vote"}

    def more(state: LoopState) -> str:
        return step if len(state["attempts"]) < answers else "vote"

    graph = StateGraph(LoopState)
    graph.add_node(step, as_node(answer))
    graph.add_node("vote", as_node(vote))
    graph.add_edge(START, step)
    graph.add_conditional_edges(step, as_route(more), [step, "vote"])
    graph.add_edge("vote", END)
    return graph.compile(checkpointer=setup.checkpointer, name=name)


def self_consistency(setup: LoopSetup) -> CompiledStateGraph:
    """Self-consistency (Wang et al. 2023): k samples, the answer by majority vote.

    ``setup.max_iters`` independent samples, the final answer by majority vote over
    their extracted answers. No critic: the baseline
    Huang et al. (2023) found self-correction does not beat at equal responses. With one
    sample it is the plain single answer, at the generator's own temperature."""
    generator, k = setup.generator, setup.max_iters

    def sample(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task = state["task"]
        done = len(state.get("attempts", []))
        # one sample is the single-answer baseline: it keeps the generator's own options
        sampler = generator if k == 1 else sample_generator(generator, done)
        started = time.perf_counter()
        generation = yield from generate_answer(
            sampler, generation_messages(sampler, task), "sample", config
        )
        return {
            "attempts": [make_attempt(generation, task, done, "sample", started)],
            "iteration": done,
        }

    return _answer_then_vote(setup, "self_consistency", "sample", sample, k, voters=k)


def debate_messages(
    generator: Generator, task: Any, own: Attempt, others: list[Attempt]
) -> list[Message]:
    """What an agent sees in a debate round: the task, its own previous answer, and the
    other agents' previous answers -- nothing else (Du et al. 2023)."""
    answers = "\n\n".join(
        f"Agent {other.agent + 1 if other.agent is not None else '?'}:\n{other.text.strip()}"
        for other in others
    )
    return [
        *generation_messages(generator, task),
        Message(role="assistant", content=own.text),
        Message(
            role="user",
            content=render_prompt(
                "debate_request", answers=answers, answer_format=answer_format(task.family)
            ),
        ),
    ]


def debate(setup: LoopSetup) -> CompiledStateGraph:
    """Multi-agent debate (Du et al. 2023): agents read each other's answers, then vote.

    ``setup.width`` agents answer; for ``setup.max_iters - 1`` more rounds each reads
    the others' previous answers and answers again; the final answer is the majority
    vote of the last round.

    Agents are the generator's model sampled with a seed each (temperature 1 where the
    generator's is 0). Attempts are stored round by round, agent by agent:
    ``iteration`` is the index, ``agent`` the agent, ``kind`` ``sample`` in round 0 and
    ``debate`` after.
    """
    generator, agents, rounds = setup.generator, max(1, setup.width), setup.max_iters

    def speak(state: LoopState, config: RunnableConfig) -> Body[dict[str, Any]]:
        task = state["task"]
        attempts = state.get("attempts", [])
        index = len(attempts)
        round_, agent = divmod(index, agents)
        sampler = sample_generator(generator, index)
        started = time.perf_counter()
        if round_ == 0:
            messages = generation_messages(sampler, task)
        else:
            previous = attempts[(round_ - 1) * agents : round_ * agents]
            own = previous[agent]
            others = [a for a in previous if a.agent != agent]
            messages = debate_messages(sampler, task, own, others)
        node = f"agent {agent + 1}"
        generation = yield from generate_answer(sampler, messages, node, config)
        kind = "sample" if round_ == 0 else "debate"
        attempt = make_attempt(generation, task, index, kind, started)
        return {
            "attempts": [attempt.model_copy(update={"agent": agent})],
            "iteration": index,
        }

    return _answer_then_vote(setup, "debate", "speak", speak, agents * rounds, voters=agents)
