"""The eval runner: task set x graph x models x samples -> a run directory.

Tasks run on an executor with bounded in-flight work -- ``concurrency``
loops at once on one asyncio event loop per process (``local``, see
``_workers.py``), or a Ray cluster (``ray``, see ``_ray.py``); a
``TaskRunner`` built once per process runs each (task, sample). This
process is the only writer of the run directory: it appends each finished
task's recorded completions, then its result. Every attempt is graded after
its loop. A failing task is recorded with its error and the run
goes on. Killed at any moment, a run resumes with ``--resume RUN_DIR``:
finished (task, sample) pairs are kept, the rest run again, nothing is
duplicated.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from looplab.answers import is_code_family
from looplab.errors import EvalError
from looplab.graphs import graph_source_sha256
from looplab.llm import check_reachable
from looplab.records import Task, TaskResult, Trajectory
from looplab.runs._config import EvalConfig
from looplab.runs._setup import check_run_config, critic_verifier
from looplab.runs._store import Manifest, RunStore, read_results
from looplab.runs._task_runner import Job
from looplab.tasks import load_tasks

__all__ = ["EXECUTORS", "Executor", "Progress", "run_eval"]

EXECUTORS: dict[str, str] = {
    "local": "asyncio loops in this process (--workers: in several processes)",
    "ray": "a Ray cluster (needs Ray: .venv/bin/pip install -e '.[ray]')",
}
"""The executors by name, and what each runs tasks on (``--executor``'s help)."""


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
    executor: str = "local",
    ray_address: str | None = None,
    workers: int | None = 1,
    allow_changed_graph: bool = False,
    labels: dict[str, str] | None = None,
) -> Path:
    """Run (or resume) an eval into ``run_dir`` and return its path.

    ``executor="ray"`` runs the tasks on a Ray cluster (``ray_address``, or a
    local one); ``workers`` > 1 runs the local executor's loops in that many
    processes (None: every core for server models, one for in-process ones).
    This process stays the only writer of the run directory either way.
    A user graph (``FILE.py:FUNCTION``) whose file differs from the one that made the
    run (resumed) or its parent (forked) is refused unless ``allow_changed_graph``.
    ``labels`` go into a new run's manifest (a study's arm: study, arm, shown name).
    """
    if executor not in EXECUTORS:
        raise EvalError(f"unknown executor {executor!r}: use one of {', '.join(EXECUTORS)}")
    store = RunStore(run_dir)
    if resume:
        config = store.config()
        _check_graph_source(config.graph, store.manifest(), allow_changed_graph)
        _check_verifier(config, store.manifest())
    elif config is None:
        raise EvalError("give a config, or resume a run")
    # Every option is checked before the run directory is touched: a typo leaves nothing
    check_run_config(config)
    tasks = load_tasks(config.tasks, limit=config.limit)
    parents: dict[tuple[str, int], Trajectory] = {}
    if config.fork is not None:
        _check_graph_source(config.graph, RunStore(config.fork.run).manifest(), allow_changed_graph)
        tasks, parents = _fork_parents(config, tasks)
    if config.fork is None:  # a fork may be answered from its parent's recording alone
        for spec in (config.model, config.critic_model):
            if spec is not None:
                check_reachable(spec)  # a dead server: one error now, not N failed tasks
    if resume:
        store.lock()
    else:
        store.create(
            config.model_dump(),
            task_count=len(tasks),
            graph_sha256=graph_source_sha256(config.graph),
            verifier_sha256=_verifier_sha256(config),
            labels=labels,
        )
    done = store.done_keys()
    pending = [(t, s) for t in tasks for s in range(config.samples) if (t.id, s) not in done]
    if parents:
        pending = [(t, s) for t, s in pending if (t.id, s) in parents]
    total = len(parents) if parents else len(tasks) * config.samples
    if on_start:
        on_start(total - len(pending), total)
    jobs = [(t, s, parents.get((t.id, s))) for t, s in pending]
    code = any(is_code_family(t.family) for t in tasks)
    if executor == "ray":
        from looplab.runs._ray import RayExecutor

        engine: Executor = RayExecutor(config, code=code, address=ray_address)
    else:
        from looplab.runs._workers import LocalExecutor, default_workers

        if workers is None:
            models = [config.model, *([config.critic_model] if config.critic_model else [])]
            workers = default_workers(models, os.cpu_count() or 1)
        engine = LocalExecutor(config, code=code, workers=workers if pending else 1)

    finished = total - len(pending)
    try:
        for result, lines in engine.results(jobs):
            store.append(result, completions=lines)
            finished += 1
            if progress:
                progress(result, finished, total)
    except KeyboardInterrupt:
        # Every finished result is on disk; the tasks still running are redone on resume.
        # Exit now rather than wait for them.
        engine.abort()
        if on_interrupt:
            on_interrupt(finished, total)
        os._exit(130)
    finally:
        store.close()
    engine.close()
    return store.dir


class Executor(Protocol):
    """Runs jobs and yields (result, recording lines) as each finishes, in any order."""

    def results(self, jobs: list[Job]) -> Iterator[tuple[TaskResult, list[str]]]:
        """Run ``jobs``; yield each (result, recording lines) as it finishes, in any order."""
        ...

    def close(self) -> None:
        """Release workers, clients and sandboxes."""
        ...

    def abort(self) -> None:
        """Stop at once, dropping unfinished jobs (they run again on resume)."""
        ...


def _check_graph_source(spec: str, made_by: Manifest, allow_changed: bool) -> None:
    """Refuse to run a user graph whose source is not the one that made ``made_by``'s run:
    resuming a run someone else made would otherwise run whatever file its manifest names."""
    if made_by.graph_sha256 is None or allow_changed:
        return
    now = graph_source_sha256(spec)
    if now != made_by.graph_sha256:
        path = spec.rpartition(":")[0]
        found = f"sha256 {now}" if now else "no such file"
        raise EvalError(
            f"{path} is not the graph that made this run (sha256 {made_by.graph_sha256} "
            f"then, {found} now): pass --allow-changed-graph to run it anyway"
        )


def _verifier_sha256(config: EvalConfig) -> str | None:
    """The sha256 of a ``learned:FILE`` critic's verifier file (None for other sources)."""
    if critic_verifier(config) is None:
        return None
    path = config.critic_confidence.partition(":")[2]
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _check_verifier(config: EvalConfig, made_by: Manifest) -> None:
    """Refuse to resume a run with a verifier other than the one that scored its tasks:
    the run would mix two verifiers' verdicts under one name."""
    now = _verifier_sha256(config)
    if now != made_by.verifier_sha256:
        raise EvalError(
            f"the verifier {config.critic_confidence.partition(':')[2]} is not the one that "
            f"made this run (sha256 {made_by.verifier_sha256} then, {now} now)"
        )


def _fork_parents(
    config: EvalConfig, tasks: list[Task]
) -> tuple[list[Task], dict[tuple[str, int], Trajectory]]:
    """The tasks a fork re-runs and the parent trajectory of each (task, sample)."""
    fork = config.fork
    assert fork is not None
    wanted = set(fork.tasks) if fork.tasks else None
    parents = {
        (r.task_id, r.sample): r.trajectory
        for r in read_results(fork.run)
        if r.trajectory is not None and (wanted is None or r.task_id in wanted)
    }
    known = {t.id for t in tasks}
    if wanted is not None and wanted - known:
        missing = ", ".join(sorted(wanted - known)[:5])
        raise EvalError(f"the parent run has no task {missing}")
    too_short = sorted(k[0] for k, t in parents.items() if len(t.attempts) <= fork.at)
    parents = {k: t for k, t in parents.items() if len(t.attempts) > fork.at}
    if not parents:
        raise EvalError(
            f"no task of {fork.run} reached iteration {fork.at}"
            + (f" ({len(too_short)} stopped before it)" if too_short else "")
        )
    ids = {task_id for task_id, _ in parents}
    return [t for t in tasks if t.id in ids], parents
