"""One end-to-end run of each prebuilt graph with the real embedded model (and real sandbox)."""

from __future__ import annotations

import os

import pytest

from looplab.agents import Critic, Generator
from looplab.graphs import (
    LoopSetup,
    best_of_n,
    critic_loop,
    run_loop,
    self_refine,
    test_repair,
    tool_critic,
)
from looplab.llm import CompletionOptions
from looplab.records import Task, Trajectory
from looplab.sandbox import available_backends, make_sandbox
from looplab.tools import Calculator

pytestmark = pytest.mark.slow

MATH = Task(id="m1", prompt="What is 46 times 7?", family="arithmetic", answer="322")


def assert_well_formed(trajectory: Trajectory, *, max_attempts: int) -> None:
    assert 1 <= len(trajectory.attempts) <= max_attempts
    assert [a.iteration for a in trajectory.attempts] == list(range(len(trajectory.attempts)))
    assert trajectory.stop_reason
    assert not trajectory.oracle
    for attempt in trajectory.attempts:
        assert attempt.text and attempt.usage.calls >= 1 and attempt.usage.completion_tokens > 0
        assert attempt.model.startswith("llama.cpp:")
    total = sum(r.usage.total_tokens for r in (*trajectory.attempts, *trajectory.critiques))
    assert trajectory.usage.total_tokens == total > 0
    Trajectory.model_validate_json(trajectory.model_dump_json())  # round-trips as a record


@pytest.fixture(scope="module")
def setup(embedded_model):
    generator = Generator(embedded_model, [Calculator()], options=CompletionOptions(max_tokens=120))
    return LoopSetup(generator=generator, critic=Critic(embedded_model), max_iters=2)


@pytest.mark.parametrize("factory", [self_refine, critic_loop, best_of_n])
def test_prebuilt_graph_end_to_end(setup, factory):
    trajectory = run_loop(factory(setup), MATH)
    assert_well_formed(trajectory, max_attempts=2)
    assert trajectory.graph == factory.__name__
    assert len(trajectory.critiques) == len(trajectory.attempts)


def test_tool_critic_end_to_end(setup, embedded_model):
    critic = Critic(embedded_model, tools=[Calculator()])
    tool_setup = LoopSetup(generator=setup.generator, critic=critic, max_iters=2)
    trajectory = run_loop(tool_critic(tool_setup), MATH)
    assert_well_formed(trajectory, max_attempts=2)
    assert trajectory.critiques[0].usage.calls >= 2  # a verification pass, then the verdict


def test_test_repair_with_the_real_sandbox(embedded_model):
    if all(reason is not None for reason in available_backends().values()):
        if os.environ.get("LOOPLAB_REQUIRE_SANDBOX") == "1":
            pytest.fail("LOOPLAB_REQUIRE_SANDBOX=1 but no isolated sandbox is usable")
        pytest.skip(reason="no isolated sandbox here (Docker or bubblewrap)")
    task = Task(
        id="c1",
        family="code",
        prompt='def square(x):\n    """Return x squared."""\n',
        entry_point="square",
        visible_tests="def check(f):\n    assert f(3) == 9\n",
    )
    sandbox = make_sandbox("auto")
    try:
        generator = Generator(embedded_model, options=CompletionOptions(max_tokens=150))
        setup = LoopSetup(generator=generator, sandbox=sandbox, max_iters=2)
        trajectory = run_loop(test_repair(setup), task)
    finally:
        sandbox.close()
    assert_well_formed(trajectory, max_attempts=2)
    assert all(c.source == "tests" for c in trajectory.critiques)
    assert all(c.model == f"sandbox:{sandbox.isolation}" for c in trajectory.critiques)
