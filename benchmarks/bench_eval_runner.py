"""The eval runner: overhead per task, throughput against a slow server, memory at 10,000 tasks.

1. Overhead: a run of critic_loop (2 model calls a task) is recorded against a
   local instant server, then replayed (replay:RUN_DIR): the replayed run's
   wall time per task is the runner's own cost (graph, records, grading,
   fsync'd store) with a model that costs nothing.
2. Throughput against a local OpenAI-compatible server (one asyncio process)
   that answers after a fixed delay (0.2 s), at concurrency 32, 128 and 512:
   first the floor -- the bare async openai SDK, no framework, the same
   server and concurrency -- then the same SDK calls made from a bare
   LangGraph graph of self_refine's shape, no looplab (what the stack costs
   before looplab does anything), then looplab (self_refine, 2 rounds, the
   default workers, or --workers N). Model calls per second and CPU per
   model call in the steady state, as a fraction of the ideal (concurrency /
   delay) and of the floor: the floors' from their first completed call to
   their last, looplab's from its 10th-percentile result to its last, once
   its worker processes have started (start-up is measured on its own, 4.).
   looplab's CPU is this process's and its worker processes', read from
   /proc; never the server's. With --repeats N the three run in turn N times
   and each figure is the median of its N, each ratio the median of the N
   ratios measured side by side (this machine's speed drifts by a third
   within minutes).
3. Memory: 10,000 tasks against the instant server; resident memory after
   1,000 and after 10,000 tasks, and the growth per task between them.
4. Start-up: `looplab --help`, and the time from launching `looplab eval` to
   its first model request arriving at the server (median of 5).

    python benchmarks/bench_eval_runner.py [--memory-tasks 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import operator
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from looplab.runs import EvalConfig, read_results, run_eval
from tests.helpers.delay_server import DelayServer

LOOPLAB = [sys.executable, "-m", "looplab.cli"]


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


def _server(delay: float, *extra: str) -> tuple[subprocess.Popen, str]:
    """The asyncio delay server in its own process (its CPU is not ours)."""
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.delay_server", str(delay), *extra],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
    )
    return server, server.stdout.readline().strip()


_TICK = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _tree_cpu(exclude: set[int]) -> float:
    """CPU seconds of this process and its live children (worker processes), less
    ``exclude`` (the server): read at two moments, the difference is steady-state work."""
    me = os.getpid()
    total = _process_cpu(me)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) not in exclude:
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == me:
                total += (int(stat[11]) + int(stat[12])) / _TICK
    return total


def _steady(stamps: list[float], calls_per_stamp: float) -> float:
    """Calls per second from the first completion to the last."""
    return calls_per_stamp * (len(stamps) - 1) / (stamps[-1] - stamps[0])


def floor(url: str, concurrency: int, calls_each: int) -> tuple[float, float]:
    """The bare async openai SDK: (calls per second, CPU ms per call), both measured from
    the first completed call to the last (it has no start-up to leave out)."""
    import asyncio

    import openai

    async def main() -> _Clock:
        client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0)
        clock = _Clock()

        async def worker(n: int) -> None:
            for k in range(calls_each):
                await _ask(client, f"What is {n} + {k}?")
                clock.tick()

        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        clock.stop()
        await client.close()
        return clock

    return asyncio.run(main()).figures()


class _Clock:
    """Completion times and CPU from the first completed call to the last."""

    def __init__(self) -> None:
        self.stamps: list[float] = []
        self.cpu: list[float] = []

    def tick(self) -> None:
        self.stamps.append(time.perf_counter())
        if len(self.stamps) == 1:
            self.cpu.append(time.process_time())

    def stop(self) -> None:
        self.cpu.append(time.process_time())

    def figures(self) -> tuple[float, float]:
        """(calls per second, CPU ms per call)."""
        calls = len(self.stamps) - 1
        return _steady(self.stamps, 1), (self.cpu[1] - self.cpu[0]) / calls * 1000


async def _ask(client, question: str) -> None:
    await client.chat.completions.create(
        model="fake",
        messages=[{"role": "user", "content": question}],
        max_tokens=256,
        temperature=0.0,
    )


class _LoopState(TypedDict):
    """The bare LangGraph loop's state (module level: LangGraph reads its annotations)."""

    question: str
    attempts: Annotated[list[int], operator.add]
    stop: bool


def langgraph_floor(url: str, concurrency: int, loops_each: int) -> tuple[float, float]:
    """The floor's SDK calls made from a bare LangGraph graph of self_refine's shape --
    generate -> critique -> decide -> (repair -> critique -> decide)* -- with no looplab:
    (calls per second, CPU ms per call) as the floor measures them. Every loop repairs
    once: 4 calls over 6 supersteps, as a looplab loop whose critic says "wrong"."""
    import asyncio

    import openai
    from langgraph.graph import END, START, StateGraph

    async def main() -> _Clock:
        client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0)
        clock = _Clock()

        async def call(state: _LoopState) -> dict:
            await _ask(client, state["question"])
            clock.tick()
            return {"attempts": [1]}

        async def critique(state: _LoopState) -> dict:
            await _ask(client, state["question"])
            clock.tick()
            return {}

        async def decide(state: _LoopState) -> dict:
            return {"stop": len(state["attempts"]) >= 2}

        async def route(state: _LoopState) -> str:
            return END if state["stop"] else "repair"

        graph = StateGraph(_LoopState)
        graph.add_node("generate", call)
        graph.add_node("critique", critique)
        graph.add_node("decide", decide)
        graph.add_node("repair", call)
        graph.add_edge(START, "generate")
        graph.add_edge("generate", "critique")
        graph.add_edge("critique", "decide")
        graph.add_conditional_edges("decide", route, ["repair", END])
        graph.add_edge("repair", "critique")
        loop = graph.compile()

        async def worker(n: int) -> None:
            for k in range(loops_each):
                await loop.ainvoke(
                    {"question": f"What is {n} + {k}?", "attempts": [], "stop": False}
                )

        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        clock.stop()
        await client.close()
        return clock

    return asyncio.run(main()).figures()


def looplab_run(
    tmp: Path, url: str, server_pid: int, concurrency: int, tasks: int, workers: int | None
) -> tuple[float, float]:
    """looplab's runner with its default workers: (calls per second, CPU ms per call) in
    steady state -- from its ``tasks // 10``-th result to its last, once every worker
    process has started -- the driver and worker processes together."""
    warm = max(1, tasks // 10)
    mark: dict[str, float] = {}
    calls = [0]

    def progress(result, done, total):
        assert result.error is None, result.error
        if done == warm:
            mark["time"], mark["cpu"] = time.perf_counter(), _tree_cpu({server_pid})
        elif done > warm:
            calls[0] += result.trajectory.usage.calls
        if done == total:
            mark["end"], mark["end_cpu"] = time.perf_counter(), _tree_cpu({server_pid})

    config = EvalConfig(
        tasks=f"arithmetic:n={tasks}",
        model=f"openai:fake@{url}",
        graph="self_refine",
        max_iters=2,
        concurrency=concurrency,
    )
    run = run_eval(config, tmp / f"throughput-{concurrency}", workers=workers, progress=progress)
    shutil.rmtree(run)
    rate = calls[0] / (mark["end"] - mark["time"])
    return rate, (mark["end_cpu"] - mark["cpu"]) / calls[0] * 1000


def _against_server(delay: float, measure):
    """``measure(url, server_pid)`` against a fresh delay server, stopped afterwards."""
    server, url = _server(delay)
    try:
        return measure(url, server.pid)
    finally:
        server.terminate()
        server.wait()


def _round(tmp: Path, delay: float, concurrency: int, workers: int | None) -> tuple:
    """The bare SDK, the SDK in bare LangGraph and looplab, one after another, each
    against a fresh server: ((calls/s, CPU ms per call), ...) of each."""
    sdk = _against_server(delay, lambda url, pid: floor(url, concurrency, calls_each=20))
    graph = _against_server(delay, lambda url, pid: langgraph_floor(url, concurrency, 5))
    tasks = concurrency * 10
    ours = _against_server(
        delay, lambda url, pid: looplab_run(tmp, url, pid, concurrency, tasks, workers)
    )
    return sdk, graph, ours


def throughput(
    tmp: Path, delay: float, workers: int | None, levels: list[int], repeats: int
) -> None:
    shown = workers or f"{os.cpu_count()} (the default)"
    print(
        f"throughput against a server answering in {delay} s (steady state; looplab with "
        f"{shown} worker processes; median of {repeats} interleaved round(s)):"
    )
    median = statistics.median
    for concurrency in levels:
        ideal = concurrency / delay
        rounds = [_round(tmp, delay, concurrency, workers) for _ in range(repeats)]
        sdk_rate, sdk_cpu = (median(r[0][k] for r in rounds) for k in (0, 1))
        graph_rate, graph_cpu = (median(r[1][k] for r in rounds) for k in (0, 1))
        rate, cpu = (median(r[2][k] for r in rounds) for k in (0, 1))
        of_sdk = median(r[2][0] / r[0][0] for r in rounds)
        cpu_sdk = median(r[2][1] / r[0][1] for r in rounds)
        graph_sdk = median(r[1][1] / r[0][1] for r in rounds)
        cpu_graph = median(r[2][1] / r[1][1] for r in rounds)
        print(
            f"  concurrency {concurrency:3d}: bare SDK {sdk_rate:6.1f} calls/s "
            f"({sdk_rate / ideal:4.0%} of ideal {ideal:.0f}), {sdk_cpu:.2f} ms CPU/call | "
            f"SDK in bare LangGraph {graph_rate:6.1f} calls/s, {graph_cpu:.2f} ms CPU/call "
            f"({graph_sdk:.2f}x the SDK's) | "
            f"looplab {rate:6.1f} calls/s ({rate / ideal:4.0%} of ideal, "
            f"{of_sdk:4.0%} of the SDK's), {cpu:.2f} ms CPU/call "
            f"({cpu_sdk:.2f}x the SDK's, {cpu_graph:.2f}x bare LangGraph's)"
        )


def startup(tmp: Path, repeats: int = 5) -> None:
    helps, firsts = [], []
    for n in range(repeats):
        started = time.perf_counter()
        subprocess.run([*LOOPLAB, "--help"], check=True, capture_output=True)
        helps.append(time.perf_counter() - started)
        server, url = _server(0.0, "--announce")
        try:
            launched = time.time()
            child = subprocess.Popen(
                [*LOOPLAB, "eval", "--model", f"openai:fake@{url}", "--limit", "2",
                 "--max-iters", "1", "--run-dir", str(tmp / f"startup-{n}"), "--no-report"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            first = float(server.stdout.readline().split()[-1])
            child.wait()
        finally:
            server.terminate()
            server.wait()
        firsts.append(first - launched)
    print(
        f"start-up (median of {repeats}): looplab --help {statistics.median(helps):.2f} s; "
        f"looplab eval to its first model request {statistics.median(firsts):.2f} s"
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
    parser.add_argument("--workers", type=int, default=None, help="looplab's (default: its own)")
    parser.add_argument("--parts", default="startup,overhead,throughput,memory")
    parser.add_argument("--concurrency", default="32,128,512", help="throughput's levels")
    parser.add_argument("--repeats", type=int, default=1, help="throughput's rounds")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        if "startup" in parts:
            startup(tmp)
        if "overhead" in parts:
            overhead(tmp, args.overhead_tasks)
        if "throughput" in parts:
            levels = [int(c) for c in args.concurrency.split(",")]
            throughput(tmp, args.delay, args.workers, levels, args.repeats)
        if "memory" in parts:
            memory(tmp, args.memory_tasks)


if __name__ == "__main__":
    main()
