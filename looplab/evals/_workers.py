"""The process executor: an eval's tasks on every core of this machine.

One Python process runs graph code on one core at a time (the GIL), so
against a fast model server a single process is the limit long before the
server is. ``ProcessExecutor`` runs ``workers`` processes in all: this one
and ``workers - 1`` spawned ones, each with its own ``TaskRunner`` (its own
HTTP clients and connection pools) and ``concurrency / workers`` threads.
Threads take jobs from one shared queue and put (result, recording lines)
on one shared queue; this process stays the only writer of the run
directory, so recording, fsynced results and resume are exactly those of
the thread executor. This process's own threads start at once, so the first
model request does not wait for the spawned workers to import looplab.

A worker process that dies takes its tasks in flight with it: the run stops
with an error saying so, every result written so far is kept, and
``--resume`` runs the rest.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Iterator
from typing import Any

from looplab.errors import EvalError
from looplab.evals._runner import EvalConfig, Job, TaskRunner
from looplab.evals._store import TaskResult

__all__ = ["ProcessExecutor", "default_workers"]

_POLL_S = 0.5
"""How often a wait for results checks that the worker processes are alive."""


def default_workers(model_specs: list[str], cores: int) -> int:
    """Every core for models behind a server; one process for in-process models, whose
    llama.cpp already uses every core (two of them on two cores slow each other down)."""
    in_process = any(spec == "local" or spec.startswith("gguf:") for spec in model_specs)
    return 1 if in_process else max(1, cores)


def _serve(runner: TaskRunner, jobs: Any, results: Any) -> None:
    """A worker thread: run jobs until the None that says stop."""
    while True:
        try:
            job = jobs.get()
        except (OSError, EOFError, ValueError):  # the queue closed under us: the run ended
            return
        if job is None:
            return
        results.put(runner.run(*job))


def _exit_with_parent() -> None:
    """A killed driver (kill -9) must not leave its workers running: exit when it is gone."""
    multiprocessing.parent_process().join()  # returns when the parent's sentinel closes
    os._exit(1)


def _worker_main(config_json: str, code: bool, threads: int, jobs: Any, results: Any) -> None:
    """A spawned worker process: its own TaskRunner, ``threads`` threads serving the queue."""
    # Ctrl-C reaches the whole process group: the driver handles it (and kills us)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    runner = TaskRunner(EvalConfig.model_validate_json(config_json), code=code)
    pool = [
        threading.Thread(target=_serve, args=(runner, jobs, results), daemon=True)
        for _ in range(threads)
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    runner.close()


class ProcessExecutor:
    """``workers`` processes (this one included), ``concurrency`` threads in all."""

    def __init__(self, config: EvalConfig, *, code: bool, workers: int) -> None:
        self.concurrency = config.concurrency
        self.workers = max(1, min(workers, config.concurrency))
        self.threads = math.ceil(config.concurrency / self.workers)
        context = multiprocessing.get_context("spawn")  # never fork a threaded process
        self.jobs = context.Queue()
        self.results_queue = context.Queue()
        self.processes = [
            context.Process(
                target=_worker_main,
                args=(config.model_dump_json(), code, self.threads, self.jobs, self.results_queue),
                daemon=True,
                name=f"looplab-worker-{n}",
            )
            for n in range(1, self.workers)
        ]
        for process in self.processes:
            process.start()
        self.runner = TaskRunner(config, code=code)
        self.local = [
            threading.Thread(
                target=_serve, args=(self.runner, self.jobs, self.results_queue), daemon=True
            )
            for _ in range(self.threads)
        ]
        for thread in self.local:
            thread.start()

    def results(self, jobs: list[Job]) -> Iterator[tuple[TaskResult, list[str]]]:
        pending = iter(jobs)
        in_flight = 0
        limit = 2 * self.concurrency  # backpressure: the queue never holds the whole task set
        while True:
            while in_flight < limit and (job := next(pending, None)) is not None:
                self.jobs.put(job)
                in_flight += 1
            if in_flight == 0:
                return
            yield self._next_result()
            in_flight -= 1

    def _next_result(self) -> tuple[TaskResult, list[str]]:
        while True:
            try:
                return self.results_queue.get(timeout=_POLL_S)
            except queue.Empty:
                dead = [p for p in self.processes if not p.is_alive()]
                if dead:
                    self.abort()
                    codes = ", ".join(f"{p.name} exit {p.exitcode}" for p in dead)
                    raise EvalError(
                        f"a worker process died ({codes}); the results so far are saved: "
                        "finish with --resume"
                    ) from None

    def close(self) -> None:
        for _ in range(self.threads * self.workers):
            self.jobs.put(None)
        for thread in self.local:
            thread.join()
        for process in self.processes:
            process.join(timeout=30)
        self.runner.close()

    def abort(self) -> None:
        for process in self.processes:
            process.kill()
        self.runner.close()
