"""``looplab study verifier``: a verifier trained on the model's own graded answers.

Cobbe et al. (2021) rank sampled solutions with a verifier trained on the
generator's graded solutions; Azaria & Mitchell (2023) probe hidden states
for correctness. At one machine's size: one-digit sums and differences
(``what is 3 - 2?``), split in two by each task's hash (never by its
labels), so no task is in both halves.

1. ``train``: best_of_n draws ``samples`` answers per training task (with
   their tokens' probabilities); ``looplab verifier train`` fits the probe on
   them, cross-fitted by task (its held-out AUROC is a line of the summary),
   once on every feature and once without the hidden state.
2. ``test``: the same sampling on the other half, ``samples`` + 2 answers per
   task. The first ``samples`` are scored by every confidence source (the
   critic's words, P(True), the answer's probability, the samples' agreement,
   both verifiers); majority votes over the first m of them are
   self-consistency at every m.
3. ``test-verifier``: best_of_n on the test half with ``--critic-confidence
   learned:verifier.json``: the same seeds draw the same samples, and the
   verifier picks one; its hidden-state passes are counted in its tokens.

Ground truth enters only through the grades of finished runs. The scores of
step 2 are appended to ``records.jsonl``, fsynced per task (a rerun resumes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from looplab.agents import (
    Candidate,
    Critic,
    Verifier,
    agreement,
    load_verifier,
    p_true,
    task_key,
)
from looplab.answers import majority_vote, vote_key
from looplab.errors import ConfigError
from looplab.files import check_writable, make_dir, open_append, write_file
from looplab.llm import ChatModel, Message
from looplab.metrics import (
    Estimate,
    confidence_metrics,
    mcnemar_exact,
    paired_difference_interval,
    proportion_interval,
)
from looplab.records import Task, TaskResult, Usage
from looplab.report import Table, Text
from looplab.runs import EvalConfig, read_results
from looplab.steps import drive
from looplab.studies._calibration import read_records
from looplab.studies._format import interval, p_value, signed
from looplab.tasks import arithmetic_tasks
from looplab.verifiers import FOLDS, fit_verifier, fold_of_task, training_examples

__all__ = [
    "VERIFIER_STUDY",
    "VerifierStudyOptions",
    "run_verifier_study",
    "score_samples",
    "split_tasks",
    "verifier_tables",
]

VERIFIER_STUDY = (
    "Cobbe et al. 2021; Azaria & Mitchell 2023",
    "a probe on the model's hidden state and answer features, trained on one half of "
    "one-digit sums (cross-fitted by task) and tested on the other: AUROC of every "
    "confidence source, and verifier-ranked best_of_n against self-consistency at "
    "matched tokens",
)
"""(paper, protocol) as ``looplab study list`` shows it."""

SOURCES = (
    "verbal", "p_true", "answer_logprob", "self_consistency",
    "learned", "learned_hidden", "learned_cheap",
)  # fmt: skip
"""The confidence sources the study compares, in the table's order."""
CHEAP_FEATURES = ("answer_logprob", "length", "agreement")
"""The cheap verifier's features: everything but the hidden state (no model call)."""
VERIFIERS = {
    "learned": ("verifier.json", ("hidden", *CHEAP_FEATURES)),
    "learned_hidden": ("verifier-hidden.json", ("hidden",)),
    "learned_cheap": ("verifier-cheap.json", CHEAP_FEATURES),
}
"""The study's verifiers: source name -> (file, features). ``learned`` ranks best_of_n;
the other two say what the hidden state and the cheap features each carry."""


class _HiddenStates:
    """The model's hidden states, each computed once: three verifiers read the same
    answer's state (the cost is still counted for each, as each would pay it alone)."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model
        self.name = model.name
        self._seen: dict[tuple[tuple[str, str], ...], tuple[list[float], Usage]] = {}

    def __getattr__(self, name: str):  # a model in every other respect
        return getattr(self.model, name)

    def hidden_state(self, messages: Sequence[Message]) -> tuple[list[float], Usage]:
        """The wrapped model's, the last one asked for kept."""
        key = tuple((m.role, m.content) for m in messages)
        if key not in self._seen:
            self._seen = {key: self.model.hidden_state(messages)}  # type: ignore[attr-defined]
        return self._seen[key]


EXTRA_VOTES = 2
"""Test samples beyond ``samples``: self-consistency may spend the verifier's extra tokens."""


@dataclass
class VerifierStudyOptions:
    """What the verifier study runs: model, tasks per half, samples, sampling temperature."""

    model: str = "local"
    limit: int = 55
    """Tasks per half (one-digit sums and differences hold 110 problems in all)."""
    samples: int = 4
    temperature: float = 0.7
    max_tokens: int = 96
    seed: int = 0


def split_tasks(limit: int) -> tuple[list[Task], list[Task]]:
    """Every distinct one-digit sum and difference, split in halves by the prompt's hash
    (``fold_of_task`` with two folds): train, test, each at most ``limit`` long."""
    distinct: dict[str, Task] = {}
    for task in arithmetic_tasks(2000, digits=1, ops="+-", style="plain", seed=0):
        distinct.setdefault(task.prompt, task)
    halves: tuple[list[Task], list[Task]] = ([], [])
    for task in distinct.values():
        halves[fold_of_task(task_key(task.prompt), 2)].append(task)
    return halves[0][:limit], halves[1][:limit]


def _write_tasks(path: Path, tasks: list[Task]) -> str:
    rows = [{"id": t.id, "prompt": t.prompt, "family": t.family, "answer": t.answer} for t in tasks]
    text = "".join(json.dumps(row) + "\n" for row in rows)
    if path.exists() and path.read_text(encoding="utf-8") != text:
        raise ConfigError(
            f"{path} holds other tasks: this study folder was made with other options"
        )
    if not path.exists():
        write_file(path, text)
    return f"jsonl:{path}"


def _arm(options: VerifierStudyOptions, tasks: str, n: int, confidence: str) -> EvalConfig:
    return EvalConfig(
        tasks=tasks,
        graph="best_of_n",
        model=options.model,
        max_iters=n,
        temperature=options.temperature,
        max_tokens=options.max_tokens,
        critic_confidence=confidence,
        seed=options.seed,
        concurrency=1,
    )


def score_samples(
    model: ChatModel,
    task: Task,
    result: TaskResult,
    samples: int,
    verifiers: dict[str, Verifier],
) -> dict[str, Any]:
    """Every source's confidence in each of the task's first ``samples`` answers, and
    what it cost; the grades are read from the finished run, after the scores."""
    assert result.trajectory is not None
    view = task.public()
    attempts = result.trajectory.attempts[:samples]
    answers = [a.answer for a in attempts]
    scored = []
    for i, attempt in enumerate(attempts):
        others = tuple(a for j, a in enumerate(answers) if j != i)
        confidences: dict[str, float | None] = {}
        tokens: dict[str, int] = {}
        critique = Critic(model).critique(view, attempt.text, iteration=i)
        confidences["verbal"] = critique.p_correct
        tokens["verbal"] = critique.usage.total_tokens
        shown = attempt.answer if attempt.answer is not None else attempt.text.strip()[-200:]
        value, completion = drive(p_true(model, task.prompt, shown))
        confidences["p_true"], tokens["p_true"] = value, completion.usage.total_tokens
        confidences["answer_logprob"], tokens["answer_logprob"] = attempt.answer_probability, 0
        same = lambda a, b: vote_key(a) == vote_key(b)  # noqa: E731
        confidences["self_consistency"] = agreement(attempt.answer, others, same)
        tokens["self_consistency"] = 0  # the other samples are drawn anyway
        candidate = Candidate(
            prompt=task.prompt,
            text=attempt.text,
            answer=attempt.answer,
            answer_probability=attempt.answer_probability,
            others=others,
        )
        for name, verifier in verifiers.items():
            value, _, usage = drive(verifier.score(candidate, model))
            confidences[name], tokens[name] = value, usage.total_tokens
        scored.append({"confidences": confidences, "tokens": tokens})
    return {
        "task": task.id,
        "answers": answers,
        "correct": [bool(g) for g in result.grades[:samples]],
        "scores": scored,
    }


def _voted(result: TaskResult, m: int) -> tuple[bool, int]:
    """Self-consistency over the first ``m`` samples: right?, and their tokens."""
    assert result.trajectory is not None
    attempts = result.trajectory.attempts[:m]
    _, chosen = majority_vote(attempts, list(range(len(attempts))))
    tokens = sum(a.usage.total_tokens for a in attempts)
    return bool(result.grades[chosen]), tokens


def _accuracy_row(name: str, right: list[bool], tokens: list[int]) -> list[str]:
    low, high = proportion_interval(sum(right), len(right))
    accuracy = Estimate(sum(right) / len(right), low, high, len(right))
    spent = f"{np.mean(tokens):,.0f}" if tokens else "n/a"
    return [name, spent, interval(accuracy, ".1%")]


def _auroc(value: float | None, low: float | None, high: float | None) -> str:
    return interval(Estimate(value, low, high, 0), ".3f")


def _paired_row(name: str, a: list[bool], b: list[bool], ratio: float) -> list[str]:
    only_a = sum(x and not y for x, y in zip(a, b, strict=True))
    only_b = sum(y and not x for x, y in zip(a, b, strict=True))
    # Bonett-Price's interval is of B - A: A's wins go in as its "only B"
    low, high = paired_difference_interval(only_b, only_a, len(a))
    difference = Estimate((only_a - only_b) / len(a), low, high, len(a))
    return [
        name,
        f"{ratio:.2f}x",
        signed(difference),
        f"{only_a} / {only_b}",
        p_value(mcnemar_exact(only_a, only_b)),
    ]


def verifier_tables(
    records: list[dict[str, Any]],
    test: dict[str, TaskResult],
    ranked: dict[str, TaskResult],
    verifier: Verifier,
    samples: int,
    half: Sequence[str] | None = None,
) -> list[Table | Text]:
    """The study's summary: sources side by side, then picking a sample at equal tokens.
    ``half``: every test task's id (default: the scored ones); a task an arm failed on
    counts as wrong for that arm, its tokens unknown (left out of the mean)."""
    tasks = [r["task"] for r in records]
    half = list(half) if half is not None else tasks
    answers = [
        (unit, score, right)
        for unit, record in enumerate(records)
        for score, right in zip(record["scores"], record["correct"], strict=True)
    ]
    # a source that cannot score an answer (no answer extracted: no probability, no
    # agreement) leaves it out, and unscored answers are nearly all wrong ones: sources
    # are compared on the answers every one of them scored, and each on all it could
    every = [
        all(s["confidences"].get(source) is not None for source in SOURCES) for _, s, _ in answers
    ]
    blocks = []
    for title, kept in (
        (f"the same {sum(every)} answers, scored by every source", every),
        ("every answer each source could score", [True] * len(answers)),
    ):
        rows = []
        for source in SOURCES:
            chosen = [a for a, keep in zip(answers, kept, strict=True) if keep]
            m = confidence_metrics(
                [s["confidences"].get(source) for _, s, _ in chosen],
                [right for _, _, right in chosen],
                units=[unit for unit, _, _ in chosen],
            )
            cost = float(np.mean([s["tokens"].get(source, 0) for _, s, _ in chosen] or [0]))
            rows.append(
                [source, str(m.n), str(m.right), interval(m.auroc, ".3f"),
                 interval(m.aurc, ".3f"), interval(m.ece, ".3f"), interval(m.brier, ".3f"),
                 f"{cost:,.0f}"]
            )  # fmt: skip
        columns = ["source", "answers", "right", "AUROC", "AURC", "ECE", "Brier", "tokens/answer"]
        blocks.append(Table(f"telling right from wrong on the test half: {title}", columns, rows))

    # picking one answer per task: every task of the half, a failed one wrong
    def spent(results: dict[str, TaskResult], cost) -> list[int]:
        return [cost(results[t]) for t in half if t in results]

    first = [t in test and bool(test[t].grades[0]) for t in half]
    first_tokens = spent(test, lambda r: r.trajectory.attempts[0].usage.total_tokens)
    picks = [_accuracy_row("one sample", first, first_tokens)]
    votes: dict[int, tuple[list[bool], list[int]]] = {}
    for m in range(1, samples + EXTRA_VOTES + 1):
        right = [t in test and _voted(test[t], m)[0] for t in half]
        votes[m] = (right, spent(test, lambda r, m=m: _voted(r, m)[1]))
        picks.append(_accuracy_row(f"self_consistency@{m}", right, votes[m][1]))
    chosen = [t in ranked and ranked[t].final_correct for t in half]
    chosen_tokens = spent(ranked, lambda r: r.trajectory.usage.total_tokens)
    picks.append(_accuracy_row(f"best_of_n@{samples}, verifier-ranked", chosen, chosen_tokens))
    any_right = [t in test and any(test[t].grades[:samples]) for t in half]
    picks.append(
        _accuracy_row(f"any of {samples} right (pass@{samples}: the ceiling)", any_right,
                      votes[samples][1])
    )  # fmt: skip
    picking = Table("picking one of the samples", ["arm", "tokens/task", "accuracy"], picks)
    # matched tokens: the vote nearest the verifier's tokens, and the vote on the same samples
    spent = float(np.mean(chosen_tokens))
    nearest = min(votes, key=lambda m: abs(float(np.mean(votes[m][1])) - spent))
    pairs = []
    for m in sorted({nearest, samples}):
        voted = float(np.mean(votes[m][1]))
        ratio = spent / voted if voted else float("inf")
        label = f"verifier@{samples} - SC@{m}"
        label += " (nearest in tokens)" if m == nearest else " (same samples)"
        pairs.append(_paired_row(label, chosen, votes[m][0], ratio))
    matched = Table(
        "verifier-ranked best_of_n against self-consistency, paired by task",
        ["A - B", "tokens A/B", "accuracy A - B", "only A / only B", "McNemar p"],
        pairs,
    )
    held = verifier.heldout
    identical = sum(
        ranked[t].trajectory.attempts[i].text == test[t].trajectory.attempts[i].text
        for t in tasks
        if t in ranked
        for i in range(samples)
    )
    failed = {arm: sum(t not in results for t in half) for arm, results in
              (("test", test), ("test-verifier", ranked))}  # fmt: skip
    notes = Text(
        [
            f"{len(tasks)} test tasks, {samples} samples each; the verifier trained on "
            f"{held.tasks} other tasks ({held.attempts} answers, {held.right} right): "
            f"cross-fitted held-out AUROC there {_auroc(held.auroc, held.low, held.high)}"
            + (
                ""
                if held.answered is None
                else f", {_auroc(held.answered_auroc, held.answered_low, held.answered_high)} "
                f"among the {held.answered} with an answer extracted"
            ),
            f"the verifier-ranked run drew the same samples as the test run on {identical} of "
            f"{sum(t in ranked for t in tasks) * samples} (same seeds)",
            *(
                [
                    f"failed tasks, counted wrong: {failed['test']} in test, "
                    f"{failed['test-verifier']} in test-verifier"
                ]
                if any(failed.values())
                else []
            ),
            "learned: every feature (hidden state, answer probability, length, agreement); "
            "learned_hidden: the hidden state alone; learned_cheap: all but the hidden "
            "state. Intervals: AUROC etc. bootstrap over tasks; accuracy Clopper-Pearson; "
            "differences Bonett-Price",
        ]
    )
    return [*blocks, picking, matched, notes]


def run_verifier_study(
    options: VerifierStudyOptions,
    study_dir: str | Path,
    *,
    run_arm: Callable[[str, EvalConfig | None, Path, bool], None],
    on_task: Callable[[int, int], None] | None = None,
) -> tuple[list[Table | Text], Path]:
    """Run (or resume) the three arms, train the verifiers, score, summarize."""
    from looplab.llm import load_model, parse_model_spec
    from looplab.runs import MANIFEST, check_run_config

    if parse_model_spec(options.model).kind not in ("local", "gguf"):
        raise ConfigError(
            f"the verifier study reads the model's hidden states: give the embedded model "
            f"(local or gguf:PATH), not {options.model}"
        )
    if options.limit < 2 * FOLDS:
        raise ConfigError(f"the verifier study needs --limit {2 * FOLDS} at least (cross-fitting)")
    check_writable(study_dir, "--run-dir", folder=True)
    train_tasks, test_tasks = split_tasks(options.limit)
    root = make_dir(study_dir)
    train_spec = _write_tasks(root / "train.jsonl", train_tasks)
    test_spec = _write_tasks(root / "test.jsonl", test_tasks)
    n = options.samples
    arms = {
        "train": _arm(options, train_spec, n, "answer_logprob"),
        "test": _arm(options, test_spec, n + EXTRA_VOTES, "answer_logprob"),
    }
    for config in arms.values():
        check_run_config(config)

    def run(arm: str, config: EvalConfig) -> dict[str, TaskResult]:
        target = root / arm
        resume = (target / MANIFEST).is_file()
        run_arm(arm, None if resume else config, target, resume)
        return {r.task_id: r for r in read_results(target) if r.error is None}

    run("train", arms["train"])
    model = load_model(options.model)
    files = {name: root / file for name, (file, _) in VERIFIERS.items()}
    if not all(path.exists() for path in files.values()):
        examples = training_examples([root / "train"], VERIFIERS["learned"][1], model=model)
        for name, (_, features) in VERIFIERS.items():
            fitted = fit_verifier(examples.only(features)).verifier
            write_file(files[name], fitted.model_dump_json(indent=1))
    verifiers = {name: load_verifier(path) for name, path in files.items()}
    test = run("test", arms["test"])
    ranked_config = _arm(options, test_spec, n, f"learned:{files['learned']}")
    ranked = run("test-verifier", ranked_config)
    path = root / "records.jsonl"
    records = read_records(path)
    done = {r["task"] for r in records}
    pending = [t for t in test_tasks if t.id in test and t.id not in done]
    with open_append(path) as out:
        for task in pending:
            record = score_samples(_HiddenStates(model), task, test[task.id], n, verifiers)
            out.write(json.dumps(record) + "\n")
            out.flush()
            os.fsync(out.fileno())
            records.append(record)
            if on_task is not None:
                on_task(len(records), len(test))
    order = {t.id: i for i, t in enumerate(test_tasks)}
    records = [r for r in records if r["task"] in ranked]
    records.sort(key=lambda r: order[r["task"]])
    half = [t.id for t in test_tasks]
    tables = verifier_tables(records, test, ranked, verifiers["learned"], n, half)
    summary = {
        "study": "verifier",
        "paper": VERIFIER_STUDY[0],
        "runs": {arm: str(root / arm) for arm in ("train", "test", "test-verifier")},
        "verifiers": {name: str(p) for name, p in files.items()},
        "tables": [t.__dict__ for t in tables if isinstance(t, Table)],
        "notes": [line for t in tables if isinstance(t, Text) for line in t.lines],
    }
    write_file(root / "study.json", json.dumps(summary, indent=2))
    return tables, root
