"""The classic studies' hot paths.

1. The calculator over GSM8K's 4,282 test-split annotations (``<<48/2=24>>``):
   agreement count and median microseconds per expression.
2. Mistake finding with an instant model: BIG-Bench Mistake's traces through
   the ``backtrack`` graph (trace-level finder, then regeneration), recorded
   once against a local instant server, then replayed (replay:RUN_DIR):
   traces per second of looplab's own work (graph, records, grading, store).

    python benchmarks/bench_studies.py [--data ../shared/data] [--traces 2186]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from looplab.runs import EvalConfig, read_results, run_eval
from looplab.tasks import check_calculator, load_tasks
from tests.helpers.delay_server import DelayServer


def calculator(data: Path) -> None:
    tasks = load_tasks(f"gsm8k:{data / 'gsm8k'}")
    started = time.perf_counter()
    check = check_calculator(tasks)
    elapsed = time.perf_counter() - started
    print(
        f"calculator on GSM8K annotations: {check.agreed} of {check.total} agree; "
        f"median {check.median_us:.0f} µs per expression, {elapsed:.2f} s in all"
    )
    for item, reason in check.disagreements:
        print(f"  {item.task_id}: <<{item.expression}={item.annotated}>>: {reason}")


def mistake_finding(data: Path, traces: int, tmp: Path) -> None:
    server = DelayServer(0.0)
    try:
        config = EvalConfig(
            tasks=f"bbmistake:{data / 'big-bench-mistake'}",
            limit=traces,
            graph="backtrack",
            model=f"openai:fake@{server.base_url}",
            concurrency=4,
        )
        recorded = run_eval(config, tmp / "recorded")
    finally:
        server.close()
    replay = config.model_copy(update={"model": f"replay:{recorded}", "concurrency": 1})
    started = time.perf_counter()
    run_eval(replay, tmp / "replayed")
    elapsed = time.perf_counter() - started
    results = read_results(tmp / "replayed")
    assert len(results) == traces and not any(r.error for r in results)
    calls = sum(r.trajectory.usage.calls for r in results)
    print(
        f"mistake finding, replayed model: {traces / elapsed:.0f} traces/s "
        f"({traces} traces, {calls} model calls, concurrency 1, {elapsed:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--traces", type=int, default=2186)
    args = parser.parse_args()
    calculator(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        mistake_finding(args.data, args.traces, Path(tmp))


if __name__ == "__main__":
    main()
