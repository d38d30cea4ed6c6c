"""The Ray executor: the eval's tasks on a Ray cluster, the run directory on the driver.

The driver keeps what it owns on one machine: the manifest, the append-only
run store (its single writer), progress and resume. Each (task, sample) is a
Ray task; a worker process builds its ``TaskRunner`` -- model clients,
weights, sandbox pool -- on its first task and keeps it for the next ones
(one per worker process and config, never one per task). At most
``2 x slots`` tasks are in flight (slots: ``--concurrency``, capped by the
cluster's CPUs), so the driver never submits the whole task set at once.

A worker or a node that dies mid-task: Ray runs the task again elsewhere
(``max_retries``); the driver writes a result only when a task's reference
resolves, once, so the store ends with every task exactly once. A task
whose retries are spent is recorded with its error, like any failed task.
Ray is an optional extra: ``pip install 'looplab[ray]'``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from looplab.errors import ConfigError
from looplab.records import TaskResult
from looplab.runs._config import EvalConfig
from looplab.runs._task_runner import Job, TaskRunner

__all__ = ["RayExecutor"]

_RUNNERS: dict[str, TaskRunner] = {}
"""The TaskRunner of each config in this worker process, built on first use."""

TASK_RETRIES = 3
"""How often Ray runs a task again after its worker or node died."""


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "the ray executor needs Ray: .venv/bin/pip install -e '.[ray]' in looplab's checkout "
            "(or use --executor local)"
        ) from None
    return ray


def _check(config: EvalConfig) -> None:
    """Fail on the driver, in one line, for what would fail every task on the workers."""
    from looplab.perturb import parse_fault_specs
    from looplab.runs._setup import check_loop_config

    check_loop_config(config)
    parse_fault_specs(config.faults)


def _run_job(config_json: str, code: bool, job: Job) -> tuple[TaskResult, list[str]]:
    """Runs in a Ray worker process."""
    runner = _RUNNERS.get(config_json)
    if runner is None:
        runner = _RUNNERS[config_json] = TaskRunner(
            EvalConfig.model_validate_json(config_json), code=code
        )
    return runner.run(*job)


class RayExecutor:
    """Runs jobs as Ray tasks on a cluster, a TaskRunner per worker process, bounded in flight."""

    def __init__(self, config: EvalConfig, *, code: bool, address: str | None = None) -> None:
        self.ray = _import_ray()
        _check(config)
        if not self.ray.is_initialized():
            # The driver only submits and writes: it needs no CPU of the cluster's.
            self.ray.init(address=address, include_dashboard=False, log_to_driver=False)
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        self.slots = max(1, min(config.concurrency, cpus))
        self.config_json = config.model_dump_json()
        self.code = code
        self.remote = self.ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(_run_job)
        self.running: dict[Any, Job] = {}

    def results(self, jobs: list[Job]) -> Iterator[tuple[TaskResult, list[str]]]:
        """Submit the jobs and yield each (result, recording lines) as it finishes."""
        ray = self.ray
        queue = iter(jobs)

        def fill() -> None:
            while len(self.running) < 2 * self.slots:
                job = next(queue, None)
                if job is None:
                    return
                ref = self.remote.remote(self.config_json, self.code, job)
                self.running[ref] = job

        fill()
        while self.running:
            ready, _ = ray.wait(list(self.running), num_returns=1)
            for ref in ready:
                task, sample, _ = self.running.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:  # retries spent: recorded, never fatal
                    error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                    yield TaskResult(task_id=task.id, sample=sample, error=error), []
            fill()

    def close(self) -> None:
        self.running.clear()

    def abort(self) -> None:
        """Cancel what is still running (on Ctrl-C)."""
        for ref in list(self.running):
            self.ray.cancel(ref, force=True)
        self.running.clear()
