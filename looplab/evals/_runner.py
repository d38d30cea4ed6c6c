"""The eval runner: task set x graph x models x samples -> a run directory.

Tasks run on a pool of ``concurrency`` threads with bounded in-flight work;
the main thread is the only writer of the results file and appends each
result as it finishes. Every attempt is graded after its loop. A failing task
is recorded with its error and the run goes on. Killed at any moment, a run
resumes with ``--resume RUN_DIR``: finished (task, sample) pairs are kept,
the rest run again, nothing is duplicated.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

from pydantic import BaseModel, Field

from looplab.answers import is_code_family
from looplab.errors import EvalError
from looplab.evals._checkers import Grader
from looplab.evals._store import RunStore, TaskResult
from looplab.evals._tasks import load_tasks
from looplab.graphs import SetupOptions, build_setup, run_loop
from looplab.llm import RecordingModel
from looplab.records import Task

__all__ = ["EvalConfig", "run_eval"]


class EvalConfig(BaseModel):
    """Everything that defines a run; stored in its manifest."""

    tasks: str = "arithmetic"
    limit: int | None = None
    graph: str = "critic_loop"
    model: str = "local"
    critic_model: str | None = None
    tools: list[str] = Field(default_factory=list)
    critic_tools: list[str] = Field(default_factory=list)
    max_iters: int = 3
    max_tokens: int = 256
    temperature: float = 0.0
    samples: int = 1
    seed: int = 0
    concurrency: int = 4
    sandbox: str = "auto"
    oracle: bool = False
    """Ground truth may stop the loop: results are upper bounds and are marked."""

    def setup_options(self) -> SetupOptions:
        return SetupOptions(
            graph=self.graph,
            model=self.model,
            critic_model=self.critic_model,
            tools=self.tools,
            critic_tools=self.critic_tools,
            max_iters=self.max_iters,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=None,
            sandbox=self.sandbox,
            oracle=self.oracle,
        )


def task_seed(base: int, task_id: str, sample: int) -> int:
    """A seed per (task, sample), stable across runs and resumes."""
    return zlib.crc32(f"{base}:{task_id}:{sample}".encode()) & 0x7FFFFFFF


Progress = Callable[[TaskResult, int, int], None]
"""Called after each result with (result, results so far, total)."""


def run_eval(
    config: EvalConfig | None,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_interrupt: Callable[[int, int], None] | None = None,
) -> Path:
    """Run (or resume) an eval into ``run_dir`` and return its path."""
    store = RunStore(run_dir)
    if resume:
        config = EvalConfig.model_validate(store.manifest().config)
    elif config is None:
        raise EvalError("give a config, or resume a run")
    tasks = load_tasks(config.tasks, limit=config.limit)
    if not resume:
        store.create(config.model_dump(), task_count=len(tasks))
    done = store.done_keys()
    pending = [(t, s) for t in tasks for s in range(config.samples) if (t.id, s) not in done]
    total = len(tasks) * config.samples
    if on_start:
        on_start(total - len(pending), total)

    sandbox = None
    if any(is_code_family(t.family) for t in tasks) or config.graph == "test_repair":
        from looplab.sandbox import make_sandbox

        sandbox = make_sandbox(config.sandbox)
    recording = store.dir / "completions.jsonl"
    _, factory, setup = build_setup(
        config.setup_options(),
        wrap_model=lambda model: RecordingModel(model, recording),
        sandbox=sandbox,
    )
    grader = Grader(sandbox)

    def run_one(task: Task, sample: int) -> TaskResult:
        try:
            options = setup.generator.options
            if config.temperature > 0 or config.samples > 1:
                options = options.model_copy(
                    update={"seed": task_seed(config.seed, task.id, sample)}
                )
            task_setup = replace(setup, generator=setup.generator.with_options(options))
            oracle = (lambda answer: grader.grade(task, answer).correct) if config.oracle else None
            trajectory = run_loop(factory(task_setup), task, oracle=oracle)
            grades = [grader.grade(task, a.answer) for a in trajectory.attempts]
            return TaskResult(
                task_id=task.id,
                sample=sample,
                trajectory=trajectory,
                grades=[g.correct for g in grades],
                grade_details=[g.detail for g in grades],
            )
        except Exception as exc:  # any failure of one task is recorded; the run goes on
            return TaskResult(task_id=task.id, sample=sample, error=f"{type(exc).__name__}: {exc}")

    finished = total - len(pending)
    pool = ThreadPoolExecutor(max_workers=config.concurrency)
    queue = iter(pending)
    running: set[Future[TaskResult]] = set()

    def fill() -> None:
        # backpressure: never more than twice the concurrency in flight
        while len(running) < 2 * config.concurrency:
            item = next(queue, None)
            if item is None:
                return
            running.add(pool.submit(run_one, *item))

    try:
        fill()
        while running:
            ready, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in ready:
                running.discard(future)
                result = future.result()
                store.append(result)
                finished += 1
                if progress:
                    progress(result, finished, total)
            fill()
    except KeyboardInterrupt:
        # Every finished result is on disk; the tasks still running are redone on resume.
        # Exit now rather than wait for them.
        pool.shutdown(wait=False, cancel_futures=True)
        if sandbox is not None:
            sandbox.close()
        if on_interrupt:
            on_interrupt(finished, total)
        os._exit(130)
    pool.shutdown()
    if sandbox is not None:
        sandbox.close()
    return store.dir
