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

import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field

from looplab._steps import Body, adrive, blocking, call, drive
from looplab.answers import is_code_family
from looplab.errors import EvalError
from looplab.evals._checkers import Grader
from looplab.evals._store import RunStore, TaskResult
from looplab.evals._tasks import load_tasks
from looplab.graphs import (
    GRAPHS,
    SANDBOX_GRAPHS,
    SetupOptions,
    Truth,
    arun_loop,
    build_setup,
    run_fork,
    run_loop,
)
from looplab.llm import (
    RECORDING_FILE,
    ChatModel,
    RecordingModel,
    ReplayThenLive,
    check_reachable,
    collect_recording,
)
from looplab.perturb import FeedbackSpec, parse_fault_specs, plausible_wrong_answer, with_faults
from looplab.records import Task, Trajectory

__all__ = ["EvalConfig", "ForkOf", "TaskRunner", "run_eval"]


class ForkOf(BaseModel):
    """A counterfactual fork: which run it branches from, and from which iteration."""

    run: str
    """The parent run directory."""
    at: int
    """The first iteration that may differ; the parent's records before it are kept."""
    tasks: list[str] | None = None
    """Only these task ids (all of the parent's finished tasks when None)."""


class EvalConfig(BaseModel):
    """Everything that defines a run; stored in its manifest."""

    tasks: str = "arithmetic"
    limit: int | None = None
    graph: str = "critic_loop"
    model: str = "local"
    critic_model: str | None = None
    tools: list[str] = Field(default_factory=list)
    critic_tools: list[str] = Field(default_factory=list)
    critic_confidence: str = "verbal"
    """``verbal`` or ``p_true``: where the critic's confidence (and verdict) comes from."""
    max_iters: int = 3
    max_tokens: int = 256
    width: int = 3
    """``debate``: agents; ``tree_search``: nodes per expansion."""
    budget: int | None = None
    """Most tokens of a loop, every role's (``tree_search``'s budget; a cap elsewhere)."""
    temperature: float = 0.0
    samples: int = 1
    seed: int = 0
    concurrency: int = 4
    sandbox: str = "auto"
    oracle: bool = False
    """Ground truth may stop the loop: results are upper bounds and are marked."""
    feedback: str = "critic"
    """What the generator is told between attempts: critic, none, oracle[:NOISE], biased."""
    faults: list[str] = Field(default_factory=list)
    """Tool fault injection for the generator's tools, e.g. ["calc:0.2"]."""
    locate: str = "found"
    """``backtrack``: where the mistake location comes from (found, gold, random)."""
    finder_style: str = "trace"
    """``backtrack``: the mistake finder's prompting style (trace, step, cot-step)."""
    stop: str = "default"
    """``default`` (the graph's stop policy) or ``never`` (every loop makes all its rounds)."""
    tool_syntax: str = "tags"
    """How the generator writes tool calls: ``tags`` or ``gsm8k`` (``<<48/2=24>>``)."""
    fork: ForkOf | None = None
    """Set for a counterfactual fork of another run."""

    def setup_options(self) -> SetupOptions:
        return SetupOptions(
            graph=self.graph,
            model=self.model,
            critic_model=self.critic_model,
            tools=self.tools,
            critic_tools=self.critic_tools,
            critic_confidence=self.critic_confidence,
            max_iters=self.max_iters,
            width=self.width,
            budget=self.budget,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=None,
            sandbox=self.sandbox,
            oracle=self.oracle,
            feedback=self.feedback,
            stop=self.stop,
            tool_syntax=self.tool_syntax,
            locate=self.locate,
            finder_style=self.finder_style,
        )


_GOLD_FIELDS = ("mistake_step", "bbm_task")
"""Task metadata the metrics need (kept on each result; never shown to a loop)."""


def task_seed(base: int, task_id: str, sample: int) -> int:
    """A seed per (task, sample), stable across runs and resumes."""
    return zlib.crc32(f"{base}:{task_id}:{sample}".encode()) & 0x7FFFFFFF


Progress = Callable[[TaskResult, int, int], None]
"""Called after each result with (result, results so far, total)."""


class TaskRunner:
    """Runs single (task, sample) pairs of one config: built once per process.

    The local executor shares one between the loops of a process's event
    loop (``arun``); the Ray executor builds one in each worker process and
    calls ``run``. Either way model clients, weights and the sandbox pool are
    made once per worker, not per task. Neither raises: a failure becomes a
    result with its error.
    """

    def __init__(self, config: EvalConfig, *, code: bool) -> None:
        self.config = config
        self.sandbox = None
        if code or config.graph in SANDBOX_GRAPHS:
            from looplab.sandbox import make_sandbox

            self.sandbox = make_sandbox(config.sandbox)
        fork = config.fork

        def wrap(model: ChatModel) -> ChatModel:
            if fork is not None:  # the parent's completions wherever the requests match
                model = ReplayThenLive(Path(fork.run) / RECORDING_FILE, model)
            return RecordingModel(model, None)  # collected per task, written by the driver

        _, self.factory, self.setup = build_setup(
            config.setup_options(), wrap_model=wrap, sandbox=self.sandbox
        )
        self.feedback = FeedbackSpec.parse(config.feedback)
        self.faults = parse_fault_specs(config.faults)
        if self.faults:
            with_faults(self.setup.generator.tools, self.faults, seed=0)  # fail before any task
        self.grader = Grader(self.sandbox)
        # A prebuilt graph holds no state of its own: compiled once (~1.4 ms), it serves
        # every task whose setup is the shared one. A user's factory is called per task,
        # as its author may keep per-loop state in it.
        self.graph = self.factory(self.setup) if config.graph in GRAPHS else None

    def run(
        self, task: Task, sample: int, parent: Trajectory | None = None
    ) -> tuple[TaskResult, list[str]]:
        """The result of one (task, sample) and the recording lines of its completions."""
        with collect_recording() as lines:
            try:
                result = drive(self._run(task, sample, parent))
            except Exception as exc:  # any failure of one task is recorded; the run goes on
                result = _failed(task, sample, exc)
        return result, lines

    async def arun(
        self, task: Task, sample: int, parent: Trajectory | None = None
    ) -> tuple[TaskResult, list[str]]:
        """The async twin of ``run``: the loop runs on this event loop (``ainvoke``)."""
        with collect_recording() as lines:
            try:
                result = await adrive(self._run(task, sample, parent))
            except Exception as exc:  # any failure of one task is recorded; the run goes on
                result = _failed(task, sample, exc)
        return result, lines

    def _run(self, task: Task, sample: int, parent: Trajectory | None) -> Body[TaskResult]:
        config, grader, feedback = self.config, self.grader, self.feedback
        seed = task_seed(config.seed, task.id, sample)
        generator = self.setup.generator
        if config.temperature > 0 or config.samples > 1:
            generator = generator.with_options(generator.options.model_copy(update={"seed": seed}))
        if self.faults:  # fresh wrappers per (task, sample): its faults depend on its seed only
            generator = generator.with_tools(with_faults(generator.tools, self.faults, seed=seed))
        task_setup = replace(self.setup, generator=generator)
        uses_oracle = config.oracle or feedback.kind == "oracle"
        oracle = (lambda answer: grader.grade(task, answer).correct) if uses_oracle else None
        # Only what the chosen perturbation needs of the truth is handed over.
        truth = Truth(
            seed=seed,
            wrong_answer=(
                plausible_wrong_answer(task.answer, seed) if feedback.kind == "biased" else None
            ),
            mistake_step=task.metadata.get("mistake_step") if config.locate == "gold" else None,
        )
        if parent is not None and config.fork is not None:
            fork = (self.factory, task_setup, task, parent, config.fork.at)
            trajectory = yield blocking(run_fork, *fork, oracle=oracle, truth=truth)
        else:
            shared = self.graph is not None and generator is self.setup.generator
            graph = self.graph if shared else self.factory(task_setup)
            trajectory = yield call(run_loop, arun_loop, graph, task, oracle=oracle, truth=truth)
        answers = [a.answer for a in trajectory.attempts]
        if is_code_family(task.family):  # the hidden tests run in the sandbox
            grades = yield blocking(lambda: [grader.grade(task, a) for a in answers])
        else:
            grades = [grader.grade(task, a) for a in answers]
        return TaskResult(
            task_id=task.id,
            sample=sample,
            trajectory=trajectory,
            grades=[g.correct for g in grades],
            grade_details=[g.detail for g in grades],
            gold={k: task.metadata[k] for k in _GOLD_FIELDS if k in task.metadata},
        )

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()


def _failed(task: Task, sample: int, exc: Exception) -> TaskResult:
    return TaskResult(task_id=task.id, sample=sample, error=f"{type(exc).__name__}: {exc}")


Job = tuple[Task, int, "Trajectory | None"]
"""One (task, sample) to run, with its parent trajectory when the run is a fork."""


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
) -> Path:
    """Run (or resume) an eval into ``run_dir`` and return its path.

    ``executor="ray"`` runs the tasks on a Ray cluster (``ray_address``, or a
    local one); ``workers`` > 1 runs the local executor's loops in that many
    processes (None: every core for server models, one for in-process ones).
    This process stays the only writer of the run directory either way.
    """
    if executor not in ("local", "ray"):
        raise EvalError(f"unknown executor {executor!r}: use local or ray")
    store = RunStore(run_dir)
    if resume:
        config = EvalConfig.model_validate(store.manifest().config)
    elif config is None:
        raise EvalError("give a config, or resume a run")
    tasks = load_tasks(config.tasks, limit=config.limit)
    parents: dict[tuple[str, int], Trajectory] = {}
    if config.fork is not None:
        tasks, parents = _fork_parents(config, tasks)
    if config.fork is None:  # a fork may be answered from its parent's recording alone
        for spec in (config.model, config.critic_model):
            if spec is not None:
                check_reachable(spec)  # a dead server: one error now, not N failed tasks
    if not resume:
        store.create(config.model_dump(), task_count=len(tasks))
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
        from looplab.evals._ray import RayExecutor

        engine: Executor = RayExecutor(config, code=code, address=ray_address)
    else:
        from looplab.evals._workers import LocalExecutor, default_workers

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

    def results(self, jobs: list[Job]) -> Iterator[tuple[TaskResult, list[str]]]: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


def _fork_parents(
    config: EvalConfig, tasks: list[Task]
) -> tuple[list[Task], dict[tuple[str, int], Trajectory]]:
    """The tasks a fork re-runs and the parent trajectory of each (task, sample)."""
    from looplab.evals._store import read_results

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
