"""The local executor: an eval's loops on event loops, in one process or on every core.

Each process runs one asyncio event loop (``EventLoopWorker``), with
``concurrency`` loops in flight in all processes together: a loop waiting on a model call
costs no thread, only a coroutine, so overhead per model call is close to
the async SDK's own. One Python process runs graph code on one core at a
time (the GIL), so against a fast model server a single process is the
limit long before the server is: ``workers`` > 1 spawns ``workers - 1``
more processes, each with its own ``TaskRunner`` (its own HTTP clients and
connection pools) and event loop. All take jobs from one shared queue and
put (result, recording lines) on one shared queue; this process stays the
only writer of the run directory, so recording, fsynced results and resume
are the same for any number of workers. This process's own loop starts at
once, so the first model request does not wait for spawned workers to
import looplab.

A worker process that dies takes its tasks in flight with it: the run stops
with an error saying so, every result written so far is kept, and
``--resume`` runs the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from looplab.errors import EvalError
from looplab.records import TaskResult
from looplab.runs._config import EvalConfig
from looplab.runs._task_runner import Job, TaskRunner

__all__ = ["EventLoopWorker", "LocalExecutor", "default_workers"]

_POLL_S = 0.5
"""How often a wait for results checks that the workers are alive."""


def default_workers(model_specs: list[str], cores: int) -> int:
    """Every core for models behind a server; one process for in-process models, whose
    llama.cpp already uses every core (two of them on two cores slow each other down)."""
    in_process = any(spec == "local" or spec.startswith("gguf:") for spec in model_specs)
    return 1 if in_process else max(1, cores)


class EventLoopWorker:
    """One event loop in a thread of its own: jobs from ``jobs`` (None says stop), at
    most ``slots`` at once, each (result, recording lines) put on ``results``.

    A daemon thread reads the job queue, taking a job only when a slot is free, so
    several processes' loops share one queue evenly and a blocked read never holds
    up the interpreter's exit.
    """

    def __init__(self, runner: TaskRunner, slots: int, jobs: Any, results: Any) -> None:
        self.runner = runner
        self.slots = slots
        self.jobs = jobs
        self.results = results
        self.free = threading.Semaphore(slots)
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._main, daemon=True, name="looplab-loop")
        self.thread.start()
        self.started.wait()

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        # What has no async body (a user's sync node, a blocking tool, the sandbox) runs
        # in the default executor: as many threads as loops in flight.
        self.loop.set_default_executor(ThreadPoolExecutor(self.slots, "looplab-blocking"))
        self.stopping = asyncio.Event()
        self.running: set[asyncio.Task[None]] = set()
        threading.Thread(target=self._read_jobs, daemon=True, name="looplab-jobs").start()
        self.started.set()
        await self.stopping.wait()
        await asyncio.gather(*self.running, return_exceptions=True)

    def _read_jobs(self) -> None:
        while True:
            self.free.acquire()
            try:
                job = self.jobs.get()
            except (OSError, EOFError, ValueError):  # the queue closed under us: the run ended
                job = None
            try:
                self.loop.call_soon_threadsafe(self._start, job)
            except RuntimeError:  # the loop has closed: aborted
                return
            if job is None:
                return

    def _start(self, job: Job | None) -> None:
        if job is None:
            self.stopping.set()
            return
        task = self.loop.create_task(self._run(job))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def _run(self, job: Job) -> None:
        try:
            self.results.put(await self.runner.arun(*job))
        finally:
            self.free.release()

    def abort(self) -> None:
        """Stop now: the loops in flight are cancelled, their tasks redone on resume."""

        def cancel() -> None:
            for task in self.running:
                task.cancel()
            self.stopping.set()

        with contextlib.suppress(RuntimeError):  # a loop already closed has nothing to stop
            self.loop.call_soon_threadsafe(cancel)


_COLLECT_EVERY = (20_000, 10, 10)
"""The cyclic collector's thresholds during a run. Python's default (700, 10, 10) runs it
every 700 allocations, and a loop allocates thousands: ~8% of the CPU per model call,
measured with benchmarks/bench_eval_runner.py. Collections still run, less often."""


def _tune_collector() -> Callable[[], None]:
    """The collector tuned for a run; returns what restores it. What was built before the
    run (modules, clients, the compiled graph) lives as long as it, so it is frozen out of
    every collection's walk; collections run every ``_COLLECT_EVERY`` allocations."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*_COLLECT_EVERY)

    def restore() -> None:
        gc.set_threshold(*before)
        gc.unfreeze()

    return restore


def _exit_with_parent() -> None:
    """A killed driver (kill -9) must not leave its workers running: exit when it is gone."""
    multiprocessing.parent_process().join()  # returns when the parent's sentinel closes
    os._exit(1)


def _worker_main(config_json: str, code: bool, slots: int, jobs: Any, results: Any) -> None:
    """A spawned worker process: its own TaskRunner and event loop serving the queue."""
    # Ctrl-C reaches the whole process group: the driver handles it (and kills us)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    runner = TaskRunner(EvalConfig.model_validate_json(config_json), code=code)
    _tune_collector()  # this process is the run's alone
    EventLoopWorker(runner, slots, jobs, results).thread.join()
    runner.close()


class LocalExecutor:
    """``workers`` processes (this one included), ``concurrency`` loops in flight in all."""

    def __init__(self, config: EvalConfig, *, code: bool, workers: int = 1) -> None:
        self.concurrency = config.concurrency
        self.workers = max(1, min(workers, config.concurrency))
        # Each loop may take every job out: a worker still starting leaves its share to
        # the others instead of idling it, and a busier process takes fewer.
        self.slots = config.concurrency
        self.processes: list[Any] = []
        if self.workers == 1:  # no process boundary: plain thread-safe queues, no pickling
            self.jobs: Any = queue.Queue()
            self.results_queue: Any = queue.Queue()
        else:
            context = multiprocessing.get_context("spawn")  # never fork a threaded process
            self.jobs = context.Queue()
            self.results_queue = context.Queue()
            args = (config.model_dump_json(), code, self.slots, self.jobs, self.results_queue)
            self.processes = [
                context.Process(
                    target=_worker_main,
                    args=args,
                    daemon=True,
                    name=f"looplab-worker-{n}",
                )
                for n in range(1, self.workers)
            ]
            for process in self.processes:
                process.start()
        self.runner = TaskRunner(config, code=code)
        self.restore_collector = _tune_collector()
        self.local = EventLoopWorker(self.runner, self.slots, self.jobs, self.results_queue)

    def results(self, jobs: list[Job]) -> Iterator[tuple[TaskResult, list[str]]]:
        pending = iter(jobs)
        in_flight = 0

        def fill() -> None:
            # Never more than ``concurrency`` jobs out, whichever process runs them: the
            # bound a server's rate limit is set by. A job goes to the first loop free.
            nonlocal in_flight
            while in_flight < self.concurrency and (job := next(pending, None)) is not None:
                self.jobs.put(job)
                in_flight += 1

        fill()
        while in_flight:
            result = self._next_result()
            in_flight -= 1
            fill()  # before the caller's fsync: the freed slot is busy again meanwhile
            yield result

    def _next_result(self) -> tuple[TaskResult, list[str]]:
        while True:
            try:
                return self.results_queue.get(timeout=_POLL_S)
            except queue.Empty:
                dead = [f"{p.name} exit {p.exitcode}" for p in self.processes if not p.is_alive()]
                if not self.local.thread.is_alive():
                    dead.append("the driver's event loop stopped")
                if dead:
                    self.abort()
                    raise EvalError(
                        f"a worker process died ({', '.join(dead)}); the results so far are "
                        "saved: finish with --resume"
                    ) from None

    def close(self) -> None:
        for _ in range(self.workers):  # one stop for each process's event loop
            self.jobs.put(None)
        self.local.thread.join()
        for process in self.processes:
            process.join(timeout=30)
        self.restore_collector()
        self.runner.close()

    def abort(self) -> None:
        for process in self.processes:
            process.kill()
        self.local.abort()
        self.restore_collector()
        self.runner.close()
