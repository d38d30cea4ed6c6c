"""The eval runner: overhead per task, throughput against a slow server, memory at 10,000 tasks.

1. Overhead: a run of critic_loop (2 model calls a task) is recorded against a
   local instant server, then replayed (replay:RUN_DIR): the replayed run's
   wall time per task is the runner's own cost (graph, records, grading,
   fsync'd store) with a model that costs nothing.
2. Throughput: a local OpenAI-compatible server that answers after a fixed
   delay (0.2 s); model calls per second at concurrency 1, 8 and 32, as a
   fraction of the ideal (concurrency / delay).
3. Memory: 10,000 tasks against the instant server; resident memory after
   1,000 and after 10,000 tasks, and the growth per task between them.

    python benchmarks/bench_eval_runner.py [--memory-tasks 10000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from looplab.evals import EvalConfig, read_results, run_eval
from tests.helpers.delay_server import DelayServer


def rss_kb() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * 4096 // 1024


def overhead(tmp: Path, tasks: int) -> None:
    server = DelayServer(0.0)
    try:
        config = EvalConfig(
            tasks=f"arithmetic:n={tasks}",
            model=f"openai:fake@{server.base_url}",
            max_iters=1,
            concurrency=1,
        )
        recorded = run_eval(config, tmp / "recorded")
    finally:
        server.close()
    replay = config.model_copy(update={"model": f"replay:{recorded}"})
    started = time.perf_counter()
    run_eval(replay, tmp / "replayed")
    elapsed = time.perf_counter() - started
    assert len(read_results(tmp / "replayed")) == tasks
    print(
        f"runner overhead, replayed model: {elapsed / tasks * 1000:.2f} ms per task "
        f"({tasks} tasks, 2 model calls each, concurrency 1)"
    )


def throughput(tmp: Path, delay: float) -> None:
    """The server runs in its own process, as a real one would: its work is not ours."""
    print(
        f"throughput against a server answering in {delay} s (2 calls a task), "
        "timed from the first result to the last:"
    )
    root = Path(__file__).resolve().parent.parent
    for concurrency in (1, 8, 32):
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.delay_server", str(delay)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
        )
        url = server.stdout.readline().strip()
        tasks = max(40, concurrency * 8)
        stamps: list[float] = []
        try:
            config = EvalConfig(
                tasks=f"arithmetic:n={tasks}",
                model=f"openai:fake@{url}",
                max_iters=1,
                concurrency=concurrency,
            )
            run_eval(
                config,
                tmp / f"throughput-{concurrency}",
                progress=lambda *_, stamps=stamps: stamps.append(time.perf_counter()),
            )
        finally:
            server.terminate()
            server.wait()
        # steady state: the results after the first, over the time they took (2 calls each)
        achieved = 2 * (len(stamps) - 1) / (stamps[-1] - stamps[0])
        ideal = concurrency / delay
        print(
            f"  concurrency {concurrency:2d}: {achieved:6.1f} calls/s of ideal {ideal:6.1f} "
            f"= {achieved / ideal:.0%}"
        )


def memory(tmp: Path, tasks: int) -> None:
    server = DelayServer(0.0)
    marks: dict[int, int] = {}

    def progress(result, done, total):
        if done in (1000, tasks):
            marks[done] = rss_kb()

    try:
        config = EvalConfig(
            tasks=f"arithmetic:n={tasks}",
            model=f"openai:fake@{server.base_url}",
            max_iters=1,
            concurrency=8,
        )
        started = time.perf_counter()
        run_eval(config, tmp / "memory", progress=progress)
        elapsed = time.perf_counter() - started
    finally:
        server.close()
    growth = (marks[tasks] - marks[1000]) / (tasks - 1000)
    print(
        f"memory: {marks[1000] / 1024:.0f} MB after 1,000 tasks, {marks[tasks] / 1024:.0f} MB "
        f"after {tasks:,} ({growth:.2f} KB per task); {tasks / elapsed:.0f} tasks/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overhead-tasks", type=int, default=300)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--memory-tasks", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        overhead(tmp, args.overhead_tasks)
        throughput(tmp, args.delay)
        memory(tmp, args.memory_tasks)


if __name__ == "__main__":
    main()
