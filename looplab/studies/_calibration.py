"""``looplab study calibration``: does the model know when it is right?

Kadavath et al. (2022)'s setup at a size one machine runs in minutes. The
model answers each task greedily (no tools; arithmetic and GSM8K), draws
``samples`` more answers at temperature 0.7, and then every confidence
source scores the greedy answer (``looplab.agents._confidence``): the
critic's written confidence (``verbal``), P(True) without and with the
samples shown, the answer tokens' probability, and the samples' agreement.
Ground truth grades the answer only after all of that, so no source sees it.

Each task's record (its answer, grade, every source's confidence and token
cost) is appended to ``records.jsonl`` and fsynced as it finishes; running
again resumes, redoing only a task whose line a kill left half written. The
summary is one table, sources against AUROC, risk-coverage and calibration
(``looplab.metrics._confidence``) with 95% bootstrap intervals over
tasks, per task family, plus a figure (reliability and risk-coverage).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from looplab.agents import (
    CONFIDENCE_SOURCES,
    Critic,
    agreement,
    answer_logprob,
    p_true,
)
from looplab.answers import extract_answer
from looplab.errors import EvalError
from looplab.files import make_dir, open_append
from looplab.llm import ChatModel, CompletionOptions
from looplab.metrics import (
    COVERAGE,
    ConfidenceMetrics,
    confidence_metrics,
    reliability_bins,
    risk_coverage,
)
from looplab.prompts import solve_messages
from looplab.records import Task
from looplab.report import save_figure
from looplab.steps import drive
from looplab.tasks import Grader, arithmetic_tasks, numbers_equal, parse_number

__all__ = [
    "RECORDS",
    "CalibrationOptions",
    "calibration_summary",
    "calibration_tables",
    "read_records",
    "run_calibration",
    "score_task",
    "study_tasks",
    "write_calibration_figure",
]

RECORDS = "records.jsonl"
"""The study's records: one JSON line per scored task, fsynced (a torn last line is cut)."""
_SAMPLE_TEMPERATURE = 0.7


@dataclass
class CalibrationOptions:
    """What the calibration study scores: model, tasks, samples, confidence sources."""

    model: str = "local"
    limit: int = 30
    """Tasks per family (arithmetic, and GSM8K when its data is there)."""
    samples: int = 3
    """Sampled answers for self-consistency and P(True) with samples."""
    max_tokens: int = 128
    data: Path | None = None
    """The folder holding gsm8k/; GSM8K is left out when None."""
    seed: int = 0
    sources: tuple[str, ...] = field(default=CONFIDENCE_SOURCES)
    concurrency: int = 4
    """Tasks scored at once by a server's model (an in-process model scores one at a
    time: it serves one call at a time anyway)."""


def study_tasks(options: CalibrationOptions) -> list[Task]:
    """Sums and differences of one-digit numbers (the embedded model, answering without
    tools, is right on 8 of 20: neither floor nor ceiling), then GSM8K's first problems."""
    tasks = arithmetic_tasks(options.limit, digits=1, ops="+-", style="plain", seed=options.seed)
    if options.data is not None:
        from looplab.tasks import gsm8k_tasks

        path = options.data / "gsm8k"
        if not path.exists():
            raise EvalError(f"no gsm8k under {options.data}: give --data DIR or set LOOPLAB_DATA")
        tasks += gsm8k_tasks(path)[: options.limit]
    return tasks


def _same(a: str, b: str) -> bool:
    x, y = parse_number(a), parse_number(b)
    if x is not None and y is not None:
        return numbers_equal(x, y)
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def score_task(model: ChatModel, task: Task, options: CalibrationOptions) -> dict[str, Any]:
    """Answer ``task``, score the answer with every source, then grade it: one record."""
    view = task.public()
    messages = solve_messages(view)
    greedy = model.complete(messages, CompletionOptions(max_tokens=options.max_tokens, logprobs=0))
    answer = extract_answer(greedy.text, task.family)
    confidences: dict[str, float | None] = {}
    tokens: dict[str, int] = {"answer": greedy.usage.total_tokens}
    samples = []
    if {"self_consistency", "p_true_samples"} & set(options.sources):
        for i in range(options.samples):
            sample_options = CompletionOptions(
                max_tokens=options.max_tokens,
                temperature=_SAMPLE_TEMPERATURE,
                seed=options.seed * 1000 + i,
            )
            samples.append(model.complete(messages, sample_options))
    sample_answers = [extract_answer(s.text, task.family) for s in samples]
    sample_tokens = sum(s.usage.total_tokens for s in samples)
    shown = answer if answer is not None else greedy.text.strip()[-200:]
    for source in options.sources:
        if source == "verbal":
            critique = Critic(model).critique(view, greedy.text, iteration=0)
            confidences[source] = critique.p_correct  # 1 - c when it says incorrect
            tokens[source] = critique.usage.total_tokens
        elif source in ("p_true", "p_true_samples"):
            ideas = [a for a in sample_answers if a] if source == "p_true_samples" else []
            value, completion = drive(p_true(model, task.prompt, shown, ideas))
            confidences[source] = value
            tokens[source] = completion.usage.total_tokens + (sample_tokens if ideas else 0)
        elif source == "answer_logprob":
            confidences[source] = answer_logprob(greedy, answer)
            tokens[source] = 0  # read off the answer's own call
        elif source == "self_consistency":
            confidences[source] = agreement(answer, sample_answers, _same)
            tokens[source] = sample_tokens
        else:
            raise EvalError(f"unknown confidence source {source!r}")
    grade = Grader().grade(task, answer)  # only now: no source saw the truth
    return {
        "task": task.id,
        "family": task.family,
        "answer": answer,
        "correct": grade.correct,
        "confidences": confidences,
        "tokens": tokens,
        "samples": sample_answers,
        "model": model.name,
    }


def read_records(path: Path) -> list[dict[str, Any]]:
    """The whole records of ``path``; a half-written last line (a kill mid-write) is cut
    off the file, so that its task is done again rather than lost or doubled."""
    if not path.exists():
        return []
    records, good = [], 0
    with path.open("rb") as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except ValueError:
                break
            good += len(line)
    if good < path.stat().st_size:
        with path.open("r+b") as f:
            f.truncate(good)
    return records


def run_calibration(
    options: CalibrationOptions,
    study_dir: str | Path,
    *,
    model: ChatModel | None = None,
    on_task: Callable[[int, int], None] | None = None,
) -> tuple[list[dict[str, Any]], Path]:
    """Score every task not yet in ``study_dir``'s records; return all records."""
    from looplab.llm import load_model

    root = make_dir(study_dir)
    path = root / RECORDS
    records = read_records(path)
    done = {r["task"] for r in records}
    tasks = study_tasks(options)
    model = model or load_model(options.model)
    pending = [task for task in tasks if task.id not in done]
    # An in-process model serves one call at a time: tasks run one after another, in
    # order, so its prompt cache sees what it saw before and the numbers stay the same.
    in_process = options.model == "local" or options.model.startswith("gguf:")
    with (
        open_append(path) as out,
        ThreadPoolExecutor(max_workers=1 if in_process else options.concurrency) as pool,
    ):
        futures = [pool.submit(score_task, model, task, options) for task in pending]
        try:
            # one writer, each record fsynced as its task finishes: a kill loses only
            # the tasks in flight, which a rerun scores again
            for future in as_completed(futures):
                record = future.result()
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())
                records.append(record)
                if on_task is not None:
                    on_task(len(records), len(tasks))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    order = {task.id: i for i, task in enumerate(tasks)}
    records.sort(key=lambda r: order.get(r["task"], len(order)))  # the tasks' own order
    return records, root


@dataclass(frozen=True)
class SourceRow:
    family: str
    source: str
    metrics: ConfidenceMetrics
    tokens: float
    """Mean tokens a task's confidence cost (on top of the answer)."""


def calibration_tables(
    records: list[dict[str, Any]], sources: tuple[str, ...] = CONFIDENCE_SOURCES
) -> list[SourceRow]:
    """Every source's metrics per task family (and over all tasks when there are two)."""
    families = sorted({r["family"] for r in records})
    groups = [(f, [r for r in records if r["family"] == f]) for f in families]
    if len(families) > 1:
        groups.append(("all", records))
    rows = []
    for family, group in groups:
        correct = [bool(r["correct"]) for r in group]
        for source in sources:
            confidences = [r["confidences"].get(source) for r in group]
            cost = sum(r["tokens"].get(source, 0) for r in group) / max(len(group), 1)
            rows.append(SourceRow(family, source, confidence_metrics(confidences, correct), cost))
    return rows


def write_calibration_figure(
    records: list[dict[str, Any]], root: Path, sources=CONFIDENCE_SOURCES
) -> Path:
    """Reliability diagram and risk-coverage curves of every source, over all tasks."""
    import matplotlib

    matplotlib.use("Agg")

    # graph, arm and task names are text: "$x$" must not go to the math parser
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    correct = [bool(r["correct"]) for r in records]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
    for source in sources:
        confidences = [r["confidences"].get(source) for r in records]
        bins = [b for b in reliability_bins(confidences, correct) if b.answers]
        left.plot(
            [b.confidence for b in bins], [b.accuracy for b in bins], marker="o", label=source
        )
        curve = risk_coverage(confidences, correct)
        if curve:
            coverage, risk = zip(*curve, strict=True)
            right.plot(coverage, risk, marker=".", label=source)
    accuracy = sum(correct) / max(len(correct), 1)
    right.axhline(1 - accuracy, color="grey", linestyle=":", label="answer everything")
    left.set(xlabel="confidence", ylabel="accuracy", title="reliability", xlim=(0, 1), ylim=(0, 1))
    right.set(xlabel="coverage", ylabel="risk (error rate)", title="risk-coverage", xlim=(0, 1))
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.tight_layout()
    path = save_figure(fig, root / "calibration.png")
    plt.close(fig)
    return path


def calibration_summary(records: list[dict[str, Any]], rows: list[SourceRow]) -> dict[str, Any]:
    """study.json: every source's metrics with their intervals, per family."""

    def estimate(e) -> dict[str, Any]:
        return {"value": e.value, "low": e.low, "high": e.high}

    return {
        "study": "calibration",
        "paper": "Kadavath et al. 2022",
        "tasks": len(records),
        "coverage": COVERAGE,
        "rows": [
            {
                "family": row.family,
                "source": row.source,
                "n": row.metrics.n,
                "right": row.metrics.right,
                "tokens": row.tokens,
                **{
                    name: estimate(getattr(row.metrics, name))
                    for name in ("auroc", "aurc", "selective_accuracy", "ece", "brier")
                },
            }
            for row in rows
        ],
    }
