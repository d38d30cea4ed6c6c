"""The Ray executor against the local one.

1. Overhead per task with an instant replayed model: a run recorded against a
   local instant server, replayed with --executor local and with --executor
   ray (same slots); wall time per task of each, and the difference.
2. Throughput against a server answering in 0.2 s, on one Ray node and on two
   (each node a `ray start` on 127.0.0.1 with 8 logical CPUs; the slots are
   the cluster's CPUs): model calls per second as a fraction of the ideal
   (slots / delay).
3. Driver memory at 10,000 tasks on Ray against the instant server: resident
   memory of the driver after 1,000 and after 10,000 tasks.

    python benchmarks/bench_ray.py [--tasks 400] [--memory-tasks 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import ray

from looplab.runs import EvalConfig, read_results, run_eval
from tests.helpers.delay_server import DelayServer
from tests.helpers.ray_cluster import RayCluster


def rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 // 1024


def timed(config: EvalConfig, run: Path, **kwargs) -> float:
    started = time.perf_counter()
    run_eval(config, run, **kwargs)
    return time.perf_counter() - started


def overhead(tmp: Path, tasks: int, address: str) -> None:
    server = DelayServer(0.0)
    try:
        config = EvalConfig(
            tasks=f"arithmetic:n={tasks}", model=f"openai:fake@{server.base_url}", max_iters=1
        )
        recorded = run_eval(config, tmp / "recorded")
    finally:
        server.close()
    replay = config.model_copy(update={"model": f"replay:{recorded}", "concurrency": 2})
    local = timed(replay, tmp / "local")
    timed(replay.model_copy(update={"tasks": "arithmetic:n=4"}), tmp / "warm", executor="ray",
          ray_address=address)  # fmt: skip  # workers started and runners built
    on_ray = timed(replay, tmp / "ray", executor="ray", ray_address=address)
    print(
        f"overhead per task, replayed model, 2 slots: local {local / tasks * 1000:.2f} ms, "
        f"ray {on_ray / tasks * 1000:.2f} ms (+{(on_ray - local) / tasks * 1000:.2f} ms)"
    )


def throughput(tmp: Path, address: str, nodes: int, delay: float, tasks: int) -> None:
    slots = int(ray.cluster_resources().get("CPU", 1))
    server = DelayServer(delay)
    try:
        config = EvalConfig(
            tasks=f"arithmetic:n={tasks}", model=f"openai:fake@{server.base_url}", max_iters=1,
            concurrency=slots,
        )  # fmt: skip
        run = tmp / f"throughput-{nodes}"
        elapsed = timed(config, run, executor="ray", ray_address=address)
    finally:
        server.close()
    calls = sum(r.trajectory.usage.calls for r in read_results(run))
    ideal = slots / delay
    print(
        f"throughput, {nodes} node(s), {slots} slots, server {delay} s: {calls / elapsed:.1f} "
        f"calls/s = {calls / elapsed / ideal:.0%} of the ideal {ideal:.0f}"
    )


def memory(tmp: Path, address: str, tasks: int) -> None:
    server = DelayServer(0.0)
    marks: dict[int, int] = {}

    def progress(result, done, total):
        if done in (1000, tasks):
            marks[done] = rss_kb()

    try:
        config = EvalConfig(
            tasks=f"arithmetic:n={tasks}", model=f"openai:fake@{server.base_url}", max_iters=1,
            concurrency=int(ray.cluster_resources().get("CPU", 1)),
        )  # fmt: skip
        run_eval(config, tmp / "memory", executor="ray", ray_address=address, progress=progress)
    finally:
        server.close()
    growth = (marks[tasks] - marks[1000]) / (tasks - 1000)
    print(
        f"driver memory on ray: {marks[1000] / 1024:.0f} MiB after 1,000 tasks, "
        f"{marks[tasks] / 1024:.0f} MiB after {tasks:,}: {growth:.2f} KB per task"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--memory-tasks", type=int, default=10000)
    parser.add_argument("--delay", type=float, default=0.2)
    args = parser.parse_args()
    cluster = RayCluster(cpus_per_node=8, second_node=False)
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            overhead(base, args.tasks, cluster.address)
            throughput(base, cluster.address, 1, args.delay, args.tasks)
            cluster.start_second_node()
            throughput(base, cluster.address, 2, args.delay, 2 * args.tasks)
            memory(base, cluster.address, args.memory_tasks)
    finally:
        ray.shutdown()
        cluster.stop()


if __name__ == "__main__":
    main()
