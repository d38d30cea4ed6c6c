"""Perturbed runs through the eval runner, and counterfactual forks of finished runs."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from looplab.cli import app
from looplab.errors import EvalError
from looplab.metrics import compare_results, compute_metrics
from looplab.runs import EvalConfig, ForkOf, RunStore, read_results, run_eval
from tests.helpers.delay_server import DelayServer


@pytest.fixture(scope="module")
def server():
    fake = DelayServer(tools=True)
    yield fake
    fake.close()


def config(server, **overrides) -> EvalConfig:
    values = dict(
        tasks="arithmetic:n=10,ops=+",
        model=f"openai:fake@{server.base_url}",
        tools=["calc"],
        max_iters=3,
        concurrency=3,
    )
    values.update(overrides)
    return EvalConfig(**values)


def by_key(run):
    return {(r.task_id, r.sample): r for r in read_results(run)}


def test_calculator_faults_reach_the_answers_and_are_seeded(tmp_path, server):
    clean = by_key(run_eval(config(server), tmp_path / "clean"))
    assert all(r.grades[0] for r in clean.values())  # the scripted generator is always right
    faulty_run = run_eval(config(server, faults=["calc:0.5"]), tmp_path / "faulty")
    faulty = by_key(faulty_run)
    calls = [c for r in faulty.values() for a in r.trajectory.attempts for c in a.tool_calls]
    injected = [c for c in calls if c.fault]
    assert 0 < len(injected) < len(calls)
    for r in faulty.values():  # a fault in the first attempt is exactly what makes it wrong
        first = r.trajectory.attempts[0]
        assert r.grades[0] == (first.tool_calls[0].fault is None)
    again = by_key(run_eval(config(server, faults=["calc:0.5"], concurrency=1), tmp_path / "again"))
    assert {k: [a.text for a in r.trajectory.attempts] for k, r in again.items()} == {
        k: [a.text for a in r.trajectory.attempts] for k, r in faulty.items()
    }
    replayed = by_key(
        run_eval(
            config(server, faults=["calc:0.5"], model=f"replay:{faulty_run}"), tmp_path / "replay"
        )
    )
    assert {k: r.trajectory.attempts for k, r in replayed.items()} != {}
    for key, r in replayed.items():
        assert [a.text for a in r.trajectory.attempts] == [
            a.text for a in faulty[key].trajectory.attempts
        ]
    metrics = compute_metrics(list(faulty.values()))
    assert metrics.propagation.faults_injected == len(injected)
    assert metrics.propagation.in_answer.value == 1.0


def test_feedback_ablation_is_in_the_manifest_and_on_the_critiques(tmp_path, server):
    run = run_eval(config(server, feedback="none", tasks="arithmetic:n=4"), tmp_path / "run")
    assert RunStore(run).manifest().config["feedback"] == "none"
    critiques = [c for r in read_results(run) for c in r.trajectory.critiques]
    assert critiques and all(c.perturbation == "no_feedback" for c in critiques)
    oracle = run_eval(config(server, feedback="oracle:0.2", tasks="arithmetic:n=4"), tmp_path / "o")
    assert all(r.trajectory.oracle for r in read_results(oracle))
    assert compute_metrics(read_results(oracle)).oracle


def parent_run(tmp_path, server):
    # the fake critic says "incorrect" often enough that loops reach iteration 2
    return run_eval(config(server, tools=[], max_iters=3), tmp_path / "parent")


def test_a_fork_keeps_the_prefix_byte_for_byte_then_diverges(tmp_path, server):
    parent = parent_run(tmp_path, server)
    parents = by_key(parent)
    other = f"openai:other-critic@{server.base_url}"
    fork_config = config(
        server, tools=[], max_iters=3, critic_model=other, fork=ForkOf(run=str(parent), at=1)
    )
    before = server.requests
    fork = run_eval(fork_config, tmp_path / "fork")
    forks = by_key(fork)
    assert forks and set(forks) <= set(parents)
    assert {k for k, r in parents.items() if len(r.trajectory.attempts) > 1} == set(forks)
    live = server.requests - before
    for key, r in forks.items():
        t, p = r.trajectory, parents[key].trajectory
        assert t.forked_at == 1
        # iteration 0 is the parent's, and attempt 1 is replayed: same requests, same answer
        # (everything but the wall time the replay took)
        assert t.attempts[0] == p.attempts[0]
        assert t.attempts[1].model_dump(exclude={"latency_s"}) == p.attempts[1].model_dump(
            exclude={"latency_s"}
        )
        assert t.critiques[0].model_dump() == p.critiques[0].model_dump()
        # from the first critique at iteration 1 on, the other critic judges
        assert {c.model for c in t.critiques[1:]} == {other}
    # only the new critic's calls (and attempts after them) went to the server
    new_calls = sum(
        sum(c.usage.calls for c in r.trajectory.critiques[1:])
        + sum(a.usage.calls for a in r.trajectory.attempts[2:])
        for r in forks.values()
    )
    assert live == new_calls
    manifest = RunStore(fork).manifest().config
    assert manifest["fork"]["run"] == str(parent) and manifest["fork"]["at"] == 1
    comparison = compare_results(read_results(parent), read_results(fork))
    assert comparison.pairs == len(forks)


def test_a_fork_that_changes_nothing_reproduces_its_parent(tmp_path, server):
    parent = parent_run(tmp_path, server)
    fork = run_eval(
        config(server, tools=[], max_iters=3, fork=ForkOf(run=str(parent), at=0)), tmp_path / "f"
    )
    parents = by_key(parent)
    for key, r in by_key(fork).items():
        assert [a.text for a in r.trajectory.attempts] == [
            a.text for a in parents[key].trajectory.attempts
        ]
        assert r.grades == parents[key].grades


def test_fork_refuses_iterations_no_task_reached(tmp_path, server):
    parent = parent_run(tmp_path, server)
    with pytest.raises(EvalError, match="reached iteration 7"):
        run_eval(config(server, tools=[], fork=ForkOf(run=str(parent), at=7)), tmp_path / "f")


def test_fork_command_branches_and_reports(tmp_path, server):
    parent = parent_run(tmp_path, server)
    runner = CliRunner()
    nothing = runner.invoke(app, ["fork", str(parent), "--at", "1"])
    assert nothing.exit_code == 2 and "say what the fork changes" in nothing.output
    first = sorted(by_key(parent))[0][0]
    done = runner.invoke(
        app,
        [
            "fork",
            str(parent),
            "--at",
            "0",
            "--feedback",
            "none",
            "--tasks",
            first,
            "--run-dir",
            str(tmp_path / "f"),
        ],
    )
    assert done.exit_code == 0, done.output
    assert "PERTURBED" in done.output and "a fork" in done.output
    (only,) = read_results(tmp_path / "f")
    assert only.task_id == first
    assert all(c.perturbation == "no_feedback" for c in only.trajectory.critiques)
