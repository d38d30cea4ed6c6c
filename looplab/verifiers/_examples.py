"""A verifier's training examples: every graded attempt of some runs, as feature rows.

An attempt's label is its ground-truth grade (``TaskResult.grades``), read
only here, after the runs are finished: the features themselves are what the
loop could see (the task's prompt, the answer's text, its tokens'
probability, the other samples' answers) and the model's hidden state on
them. A task is known by its prompt (``task_key``), so one problem asked
under two ids, or by two runs, is one group for cross-fitting.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from looplab.agents import Candidate, TrainingRun, candidate_features, check_features, task_key
from looplab.errors import ConfigError
from looplab.files import write_file
from looplab.llm import ChatModel, load_model
from looplab.records import Usage
from looplab.runs import RunStore, read_results
from looplab.steps import drive
from looplab.tasks import load_tasks

__all__ = ["Examples", "training_examples"]


@dataclass
class Examples:
    """Feature rows with their labels and tasks: what a verifier is fit on."""

    features: tuple[str, ...]
    columns: tuple[str, ...]
    rows: np.ndarray
    """(answers x columns) feature values."""
    right: np.ndarray
    """(answers,) the ground-truth grade of each answer."""
    tasks: list[str]
    """Each answer's task key (``task_key`` of its prompt)."""
    model: str
    """The model whose hidden states the rows hold ("" without the hidden feature)."""
    runs: list[TrainingRun] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    """What computing the features cost (the hidden states' forward passes)."""
    where: list[tuple[str, str, int, int]] = field(default_factory=list)
    """Each answer's run directory, task id, sample and attempt index."""
    answered: np.ndarray | None = None
    """(answers,) whether an answer was extracted from the text: the answers the sources
    that need one (answer probability, agreement) can score too."""

    def save(self, path: str | Path) -> Path:
        """The rows with their labels, tasks and provenance as a NumPy ``.npz`` (the
        features recorded: another model can be fit on them without the runs)."""
        import io

        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            rows=self.rows,
            right=self.right,
            columns=np.asarray(self.columns, dtype=str),
            tasks=np.asarray(self.tasks, dtype=str),
            where=np.asarray([json.dumps(w) for w in self.where], dtype=str),
            model=np.asarray(self.model),
        )
        return write_file(path, buffer.getvalue())

    def only(self, features: Sequence[str]) -> Examples:
        """The same answers with only ``features``' columns: verifiers on fewer features
        fit without computing anything again."""
        chosen = check_features(features)
        missing = set(chosen) - set(self.features)
        if missing:
            raise ConfigError(f"these examples hold no {', '.join(sorted(missing))} feature")
        keep = [i for i, c in enumerate(self.columns) if _feature_of(c) in chosen]
        return Examples(
            features=chosen,
            columns=tuple(self.columns[i] for i in keep),
            rows=self.rows[:, keep],
            right=self.right,
            tasks=self.tasks,
            model=self.model if "hidden" in chosen else "",
            runs=self.runs,
            usage=self.usage,
            where=self.where,
            answered=self.answered,
        )


def _feature_of(column: str) -> str:
    """The feature a column belongs to: ``hidden[3]`` -> hidden, ``agreement missing`` ->
    agreement."""
    return column.split("[", 1)[0].removesuffix(" missing")


def _run_model(run_dirs: Sequence[Path]) -> str:
    specs = {RunStore(path).config().model for path in run_dirs}
    if len(specs) > 1:
        raise ConfigError(
            f"the runs were made by different models ({', '.join(sorted(specs))}): a probe "
            "on hidden states reads one model's; give --model"
        )
    return specs.pop()


def training_examples(
    run_dirs: Sequence[str | Path],
    features: Sequence[str],
    *,
    model: ChatModel | None = None,
    on_answer: Callable[[int, int], None] | None = None,
) -> Examples:
    """Every graded attempt of ``run_dirs`` as a feature row. The hidden states come from
    ``model``, by default the runs' own generator (loaded from their spec)."""
    features = check_features(features)
    paths = [Path(p) for p in run_dirs]
    if not paths:
        raise ConfigError("give at least one run directory to train on")
    if "hidden" in features and model is None:
        model = load_model(_run_model(paths))
    pending: list[tuple[Candidate, bool]] = []
    where: list[tuple[str, str, int, int]] = []
    runs: list[TrainingRun] = []
    for path in paths:
        config = RunStore(path).config()
        prompts = {t.id: t.prompt for t in load_tasks(config.tasks, limit=config.limit)}
        attempts = right = 0
        seen: set[str] = set()
        for result in read_results(path):
            trajectory = result.trajectory
            if result.error or trajectory is None:
                continue
            if len(result.grades) != len(trajectory.attempts):
                continue  # not graded attempt by attempt
            prompt = prompts.get(result.task_id)
            if prompt is None:
                raise ConfigError(f"{path}: task {result.task_id} is not in its task set now")
            seen.add(result.task_id)
            answers = [a.answer for a in trajectory.attempts]
            for i, (attempt, grade) in enumerate(
                zip(trajectory.attempts, result.grades, strict=True)
            ):
                if attempt.kind == "draft":
                    continue  # the task's given answer, not the model's
                others = None
                if trajectory.shape == "samples" and len(answers) > 1:
                    others = tuple(a for j, a in enumerate(answers) if j != i)
                candidate = Candidate(
                    prompt=prompt,
                    text=attempt.text,
                    answer=attempt.answer,
                    answer_probability=attempt.answer_probability,
                    others=others,
                )
                pending.append((candidate, bool(grade)))
                where.append((str(path), result.task_id, result.sample, i))
                attempts += 1
                right += bool(grade)
        runs.append(
            TrainingRun(
                path=str(path),
                graph=config.graph,
                model=config.model,
                tasks=len(seen),
                attempts=attempts,
                right=right,
            )
        )
    if not pending:
        raise ConfigError("the runs hold no graded attempts to train on")
    rows, usage, columns = [], Usage(), None
    for done, (candidate, _) in enumerate(pending, start=1):
        row = drive(candidate_features(candidate, features, model))
        columns = columns or row.columns
        rows.append(row.values)
        usage += row.usage
        if on_answer is not None:
            on_answer(done, len(pending))
    return Examples(
        features=features,
        columns=tuple(columns or ()),
        rows=np.asarray(rows, dtype=float),
        right=np.asarray([label for _, label in pending], dtype=bool),
        tasks=[task_key(candidate.prompt) for candidate, _ in pending],
        model=model.name if "hidden" in features and model is not None else "",
        runs=runs,
        usage=usage,
        where=where,
        answered=np.asarray([c.answer is not None for c, _ in pending], dtype=bool),
    )
