"""Training data from a run's graded records, in the chat format trainers read as is.

Four kinds, each one JSON object per line (the columns of TRL's dataset formats,
https://huggingface.co/docs/trl/dataset_formats, in their conversational form):

- ``sft``: ``{"messages": [user, assistant]}`` -- a task and a final answer the grader
  found right (TRL's SFTTrainer; the OpenAI fine-tuning format is ``messages`` too).
  ``sft`` picks which: ``first`` (right at the first attempt), ``repaired`` (wrong at
  first, right in the end) or ``both``.
- ``dpo``: ``{"prompt": [user], "chosen": [assistant], "rejected": [assistant]}`` -- a
  right and a wrong attempt at the same task (TRL's DPOTrainer). Per task, its distinct
  right and wrong attempts in order (sample, then iteration) are paired one to one
  (``pairs="zip"``) or every right with every wrong (``pairs="all"``).
- ``critic``: ``{"prompt": [user], "completion": [assistant], "label": bool}`` -- an
  attempt and the grader's verdict on it (TRL's unpaired-preference format; a verifier's
  training set), with the loop critic's own verdict beside it when it judged.
  ``judged_only`` keeps the attempts a model critic judged.
- ``repairs``: ``{"messages": [user, assistant (wrong), user (feedback), assistant
  (right)]}`` -- every repair that turned a wrong attempt right, with the feedback the
  generator was shown, in the words the loop showed it.

The user turn is the task as the loop asks for it (``task_request``), without the
system prompt's worked examples. An attempt is its whole text, tool results spliced in.
Every record carries ``provenance`` (run, task set, task, sample, iteration(s), model,
graph, ``oracle``, ``perturbed``). Results steered by ground truth (oracle) or produced
under a perturbation (injected faults, perturbed feedback, planted mistakes, forks) are
left out unless asked for, and are marked when they are in. Reference answers and
hidden tests never appear: ``critic``'s label is the grader's verdict, not the answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from looplab.errors import EvalError
from looplab.exports._source import RunSource
from looplab.prompts import repair_request, task_request
from looplab.records import Attempt, TaskResult

__all__ = ["ExportOptions", "TRAINING_KINDS", "TrainingData", "training_records"]

TRAINING_KINDS: tuple[str, ...] = ("sft", "dpo", "critic", "repairs")
"""The training-data kinds, in TRL's conversational columns."""


@dataclass(frozen=True)
class ExportOptions:
    """What goes into an export."""

    sft: str = "both"
    """``first`` (right at the first attempt), ``repaired`` (right after a repair) or ``both``."""
    pairs: str = "zip"
    """dpo: right and wrong attempts paired one to one (``zip``) or ``all`` pairs."""
    judged_only: bool = False
    include_oracle: bool = False
    """Keep results that ground truth steered (marked ``oracle`` in provenance)."""
    include_perturbed: bool = False
    """Keep results made under a perturbation (listed in ``perturbed``)."""
    dedup: bool = True
    """Drop a record whose training content (everything but provenance) was seen before."""

    def __post_init__(self) -> None:
        if self.sft not in ("first", "repaired", "both"):
            raise EvalError(f"sft={self.sft!r}: use first, repaired or both")
        if self.pairs not in ("zip", "all"):
            raise EvalError(f"pairs={self.pairs!r}: use zip or all")


@dataclass
class TrainingData:
    """The records of one export and the counts its dataset card reports."""

    kind: str
    records: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    left_out: dict[str, int] = field(default_factory=dict)
    """Results left out, by reason (``oracle``, ``perturbed``)."""


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def _assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def training_records(
    source: RunSource, kind: str, options: ExportOptions | None = None
) -> TrainingData:
    """The records of one kind from a run, filtered and de-duplicated as ``options`` say."""
    if kind not in TRAINING_KINDS:
        raise EvalError(f"unknown export {kind!r}: use one of {', '.join(TRAINING_KINDS)}")
    options = options or ExportOptions()
    data = TrainingData(kind=kind)
    kept = list(_kept_results(source, options, data.left_out))
    build = {"sft": _sft, "dpo": _dpo, "critic": _critic, "repairs": _repairs}[kind]
    seen: set[str] = set()
    for record in build(source, kept, options):
        if options.dedup:
            content = {k: v for k, v in record.items() if k != "provenance"}
            key = json.dumps(content, sort_keys=True, ensure_ascii=False)
            if key in seen:
                data.duplicates += 1
                continue
            seen.add(key)
        data.records.append(record)
    return data


def _kept_results(
    source: RunSource, options: ExportOptions, left_out: dict[str, int]
) -> Iterator[TaskResult]:
    for result in source.results:
        trajectory = result.trajectory
        if trajectory is None or result.error:
            left_out["failed"] = left_out.get("failed", 0) + 1
        elif trajectory.oracle and not options.include_oracle:
            left_out["oracle"] = left_out.get("oracle", 0) + 1
        elif source.perturbations(trajectory) and not options.include_perturbed:
            left_out["perturbed"] = left_out.get("perturbed", 0) + 1
        else:
            yield result


def _graded(result: TaskResult, *, drafts: bool = False) -> Iterator[tuple[int, Attempt, bool]]:
    """(index, attempt, grade) for each graded attempt. Drafts were not written by a model,
    nor the prefilled start of an attempt: both only with ``drafts`` (what a critic
    judged, whoever wrote it)."""
    assert result.trajectory is not None
    for i, attempt in enumerate(result.trajectory.attempts):
        written = attempt.kind != "draft" and not attempt.prefilled
        if i < len(result.grades) and (drafts or written):
            yield i, attempt, result.grades[i]


def _sft(source: RunSource, results: list[TaskResult], options: ExportOptions):
    for result in results:
        trajectory = result.trajectory
        assert trajectory is not None
        final = trajectory.final
        if final is None or final.kind == "draft" or not result.final_correct or final.prefilled:
            continue
        first_right = bool(result.grades) and result.grades[0]
        if (options.sft == "first" and not first_right) or (
            options.sft == "repaired" and first_right
        ):
            continue
        task = source.tasks[result.task_id]
        yield {
            "messages": [_user(task_request(task)), _assistant(final.text)],
            "provenance": source.provenance(
                result,
                iteration=final.iteration,
                model=final.model,
                first_attempt_right=first_right,
            ),
        }


def _dpo(source: RunSource, results: list[TaskResult], options: ExportOptions):
    by_task: dict[str, list[TaskResult]] = {}
    for result in results:
        by_task.setdefault(result.task_id, []).append(result)
    for task_id, group in by_task.items():
        right: dict[str, tuple[TaskResult, Attempt]] = {}
        wrong: dict[str, tuple[TaskResult, Attempt]] = {}
        for result in sorted(group, key=lambda r: r.sample):
            for _, attempt, grade in _graded(result):
                (right if grade else wrong).setdefault(attempt.text, (result, attempt))
        if options.pairs == "zip":
            pairs = zip(right.values(), wrong.values(), strict=False)
        else:
            pairs = ((r, w) for r in right.values() for w in wrong.values())
        task = source.tasks[task_id]
        for (chosen_result, chosen), (rejected_result, rejected) in pairs:
            yield {
                "prompt": [_user(task_request(task))],
                "chosen": [_assistant(chosen.text)],
                "rejected": [_assistant(rejected.text)],
                "provenance": {
                    **source.provenance(
                        chosen_result, iteration=chosen.iteration, model=chosen.model
                    ),
                    "rejected": {
                        "sample": rejected_result.sample,
                        "iteration": rejected.iteration,
                        "model": rejected.model,
                        "perturbed": source.perturbations(rejected_result.trajectory),
                    },
                },
            }


def _critic(source: RunSource, results: list[TaskResult], options: ExportOptions):
    for result in results:
        trajectory = result.trajectory
        assert trajectory is not None
        task = source.tasks[result.task_id]
        for i, attempt, grade in _graded(result, drafts=True):
            judged = [c for c in trajectory.critiques if c.source == "model" and c.iteration == i]
            if options.judged_only and not judged:
                continue
            critique = judged[-1] if judged else None
            yield {
                "prompt": [_user(task_request(task))],
                "completion": [_assistant(attempt.text)],
                "label": grade,
                "critic": None
                if critique is None
                else {
                    "verdict": critique.verdict,
                    "p_correct": critique.p_correct,
                    "confidence_source": critique.confidence_source,
                    "model": critique.model,
                },
                "provenance": source.provenance(
                    result, iteration=attempt.iteration, model=attempt.model, kind=attempt.kind
                ),
            }


def _repairs(source: RunSource, results: list[TaskResult], options: ExportOptions):
    for result in results:
        trajectory = result.trajectory
        assert trajectory is not None
        task = source.tasks[result.task_id]
        attempts, grades = trajectory.attempts, result.grades
        for i in range(min(len(attempts), len(grades)) - 1):
            before, after = attempts[i], attempts[i + 1]
            if after.kind != "repair" or grades[i] or not grades[i + 1] or after.prefilled:
                continue
            shown = [c for c in trajectory.critiques if c.iteration == before.iteration]
            critique = shown[-1] if shown else None
            if critique is not None and critique.source in ("reflection", "verification"):
                # a Reflexion trial or a CoVe revision was asked otherwise (a memory, the
                # checks), not with this conversation: no such pair was ever seen
                continue
            feedback = critique.feedback if critique else ""
            yield {
                "messages": [
                    _user(task_request(task)),
                    _assistant(before.text),
                    _user(repair_request(task.family, feedback)),
                    _assistant(after.text),
                ],
                "provenance": source.provenance(
                    result,
                    iteration=after.iteration,
                    repaired_iteration=before.iteration,
                    model=after.model,
                    feedback_source=critique.source if critique else None,
                ),
            }
