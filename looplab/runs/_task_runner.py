"""TaskRunner: one (task, sample) of a run's config, run and graded; built once per process.

Both executors use it: the local one awaits ``arun`` on each process's event
loop, the Ray one calls ``run`` in each worker process.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from pathlib import Path

from looplab.answers import grader_blocks
from looplab.graphs import GRAPHS, SANDBOX_GRAPHS, Truth, arun_loop, run_fork, run_loop
from looplab.llm import (
    RECORDING_FILE,
    ChatModel,
    RecordingModel,
    ReplayThenLive,
    collect_recording,
)
from looplab.perturb import FeedbackSpec, parse_fault_specs, plausible_wrong_answer, with_faults
from looplab.records import Task, TaskResult, Trajectory
from looplab.runs._config import EvalConfig
from looplab.runs._setup import build_setup
from looplab.steps import Body, adrive, blocking, call, drive
from looplab.tasks import Grader

__all__ = ["Job", "TaskRunner", "task_seed"]


_GOLD_FIELDS = ("mistake_step", "bbm_task")
"""Task metadata the metrics need (kept on each result; never shown to a loop)."""


def task_seed(base: int, task_id: str, sample: int) -> int:
    """A seed per (task, sample), stable across runs and resumes."""
    return zlib.crc32(f"{base}:{task_id}:{sample}".encode()) & 0x7FFFFFFF


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

        _, self.factory, self.setup = build_setup(config, wrap_model=wrap, sandbox=self.sandbox)
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
        if grader_blocks(task.family):  # hidden tests in the sandbox, math-verify's worker
            grades = yield blocking(lambda: [grader.grade(task, a) for a in answers])
        else:
            grades = [grader.grade(task, a) for a in answers]
        return TaskResult(
            task_id=task.id,
            sample=sample,
            trajectory=trajectory,
            grades=[g.correct for g in grades],
            grade_details=[g.detail for g in grades],
            scores=[g.score for g in grades] if all(g.score is not None for g in grades) else [],
            gold={k: task.metadata[k] for k in _GOLD_FIELDS if k in task.metadata},
        )

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()


def _failed(task: Task, sample: int, exc: Exception) -> TaskResult:
    return TaskResult(task_id=task.id, sample=sample, error=f"{type(exc).__name__}: {exc}")


Job = tuple[Task, int, "Trajectory | None"]
"""One (task, sample) to run, with its parent trajectory when the run is a fork."""
