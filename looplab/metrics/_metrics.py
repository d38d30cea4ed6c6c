"""Metrics of a run: pure functions of its TaskResults, each rate with a 95% interval.

METRICS.md defines every figure (formula, unit, interval, the paper it follows).
Units are tasks: a task's samples are drawn together and every interval is over
tasks, so intervals say how much a number depends on which tasks were drawn.

- Accuracy at each iteration, intention to treat: a failed task (a backend
  error) counts as wrong, and accuracy over the answered tasks is kept beside
  it. A loop that stopped early carries its last answer forward (what a user
  of the loop would get with that budget).
- Flips between consecutive iterations and from first to final answer:
  correct->correct, correct->wrong, wrong->correct, wrong->wrong; the
  repair rate is wrong->correct / wrong-at-first, the damage rate
  correct->wrong / correct-at-first. A pick among alternatives (best-of-n,
  a vote, a search) repairs nothing: it is reported as selection (the first
  sample against the chosen one), and its repair and damage rates are n/a.
- The critic against ground truth, on every judged attempt: the confusion
  matrix, precision and recall of "incorrect", the false-alarm rate on
  correct answers, and the calibration of its probability that the answer
  is right (``Critique.p_correct``: the one mapping of a verdict and its
  confidence, whatever the source), over the judgements that carry one --
  an "unsure" or unparsed verdict carries none, and is counted apart.
- pass@k with the unbiased estimator, when there are several samples (or
  best-of-n's samples); success against cumulative tokens (pass@t, Olausson
  et al.) and tokens per solved task.
- Tool use per tool: calls, errors, and what went wrong.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from looplab.answers import majority_vote
from looplab.metrics._confidence import ConfidenceMetrics, confidence_metrics
from looplab.metrics._propagation import (
    IterationErrors,
    MistakeMetrics,
    PropagationMetrics,
    iteration_errors,
    mistake_metrics,
    mistake_metrics_by_task,
    propagation_metrics,
)
from looplab.metrics._stats import (
    Estimate,
    SumStatistic,
    TaskIndex,
    bootstrap_sums,
    pass_at_k,
    ratio,
)
from looplab.records import Critique, TaskResult

__all__ = [
    "FLIPS",
    "CriticMetrics",
    "RunMetrics",
    "compute_metrics",
    "correctness_by_iteration",
    "flip_counts",
    "pass_at_t",
]

FLIPS = ("cc", "cw", "wc", "ww")
"""The four flips between two grades: c right, w wrong (cw: right, then wrong)."""

_ECE_BINS = 10
_ECE_EDGES = np.arange(1, _ECE_BINS) / _ECE_BINS
"""Inner bin edges: bin b holds b/10 <= p < (b+1)/10, the last one also p = 1."""


def correctness_by_iteration(result: TaskResult, iterations: int) -> list[bool]:
    """Correct or not at iterations 0..iterations-1, the last answer carried forward."""
    grades = list(result.grades) or [False]
    if result.trajectory is not None and result.trajectory.shape == "samples":
        # picked among alternatives (best-of-n, a vote, a search): no iterations, the
        # answer is the pick from the start
        grades = [result.final_correct]
    return [grades[min(i, len(grades) - 1)] for i in range(iterations)]


def flip_counts(results: Sequence[TaskResult], iterations: int) -> list[Counter]:
    """Per transition i -> i+1, the counts of cc, cw, wc, ww."""
    paths = [correctness_by_iteration(r, iterations) for r in results]
    return _flips(np.array(paths, dtype=bool).reshape(len(results), iterations))


@dataclass
class CriticMetrics:
    """How the critic did against ground truth: confusion, rates, calibration by source."""

    judged: int = 0
    unparsed: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    """confusion[verdict][truth], truth in {"correct", "incorrect"}."""
    precision_incorrect: Estimate | None = None
    recall_incorrect: Estimate | None = None
    false_alarm: Estimate | None = None
    verdict_accuracy: Estimate | None = None
    with_probability: int = 0
    """Judgements with a probability that the answer is right (``Critique.p_correct``):
    what Brier and ECE are computed over; "unsure" and unparsed verdicts have none."""
    brier: Estimate | None = None
    ece: Estimate | None = None
    by_source: dict[str, ConfidenceMetrics] = field(default_factory=dict)
    """Per confidence source of the critiques: how well their probability that the
    answer is right separates right answers from wrong ones (AUROC, risk-coverage)."""


def _judgements(results: Sequence[TaskResult]) -> list[tuple[int, Critique, bool]]:
    """(result index, critique, truth) for every model critique of a graded attempt."""
    found = []
    for n, r in enumerate(results):
        if r.trajectory is None:
            continue
        for c in r.trajectory.critiques:
            if c.source != "model" or c.iteration >= len(r.grades):
                continue
            found.append((n, c, r.grades[c.iteration]))
    return found


def _ece_statistic(counted: np.ndarray, diffs: np.ndarray) -> SumStatistic:
    """ECE from per-task judgement counts and per-bin sums of (outcome - confidence):
    sum over bins of |sum y - sum p| / n equals the usual weighted |accuracy - confidence|."""

    def combine(sums: np.ndarray) -> np.ndarray:
        n = sums[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(n > 0, np.abs(sums[:, 1:]).sum(axis=1) / np.where(n > 0, n, 1), np.nan)

    return SumStatistic(np.column_stack([counted, diffs]), combine)


def _critic_statistics(
    results: Sequence[TaskResult], index: TaskIndex
) -> tuple[CriticMetrics, dict[str, SumStatistic]]:
    """The critic's counts, and its rates as statistics to bootstrap."""
    judgements = _judgements(results)
    metrics = CriticMetrics(judged=len(judgements))
    verdicts = [c.verdict for _, c, _ in judgements]
    metrics.unparsed = sum(v is None for v in verdicts)
    truth = np.array([y for *_, y in judgements], dtype=bool)
    for verdict in ("correct", "incorrect", "unsure"):
        said = np.array([v == verdict for v in verdicts], dtype=bool)
        metrics.confusion[verdict] = {
            "correct": int((said & truth).sum()),
            "incorrect": int((said & ~truth).sum()),
        }
    rows = index.of_result[[n for n, *_ in judgements]] if judgements else np.zeros(0, np.intp)
    parsed = np.array([v is not None for v in verdicts], dtype=bool)
    incorrect = np.array([v == "incorrect" for v in verdicts], dtype=bool)
    correct = np.array([v == "correct" for v in verdicts], dtype=bool)
    raw = [c.p_correct for _, c, _ in judgements]
    scored = np.array([v is not None for v in raw], dtype=bool)
    metrics.with_probability = int(scored.sum())
    p = np.array([0.0 if v is None else v for v in raw], dtype=float)
    bins = np.searchsorted(_ECE_EDGES, p, side="right")
    diffs = np.column_stack(
        [
            index.per_task(np.where(scored & (bins == b), truth - p, 0.0), rows)
            for b in range(_ECE_BINS)
        ]
    )
    squared = np.where(scored, (p - truth) ** 2, 0.0)
    stats = {
        "precision_incorrect": index.share(~truth, incorrect, rows),
        "recall_incorrect": index.share(incorrect, parsed & ~truth, rows),
        "false_alarm": index.share(incorrect, parsed & truth, rows),
        "verdict_accuracy": index.share(correct == truth, correct | incorrect, rows),
        "brier": ratio(index.per_task(squared, rows), index.per_task(scored, rows)),
        "ece": _ece_statistic(index.per_task(scored, rows), diffs),
    }
    metrics.by_source = _discrimination(judgements, index)
    return metrics, stats


def _discrimination(
    judgements: list[tuple[int, Critique, bool]], index: TaskIndex
) -> dict[str, ConfidenceMetrics]:
    """AUROC and risk-coverage of each confidence source over the graded attempts its
    critiques judged, resampling tasks (a loop's critiques are drawn together)."""
    found: dict[str, tuple[list, list, list]] = {}
    for n, critique, truth in judgements:
        p, y, units = found.setdefault(critique.confidence_source, ([], [], []))
        p.append(critique.p_correct)
        y.append(truth)
        units.append(int(index.of_result[n]))
    return {
        source: confidence_metrics(p, y, units=units)
        for source, (p, y, units) in sorted(found.items())
        if any(v is not None for v in p)
    }


def _budget_path(result: TaskResult) -> list[tuple[int, bool]]:
    """(cumulative tokens, correct if stopped here) after each attempt and its critique."""
    t = result.trajectory
    if t is None:
        return []
    critiques = defaultdict(list)
    for c in t.critiques:
        critiques[c.iteration].append(c)
    path, spent = [], 0
    best: tuple[float, int] | None = None
    for i, attempt in enumerate(t.attempts):
        spent += attempt.usage.total_tokens + sum(c.usage.total_tokens for c in critiques[i])
        if t.vote is not None:  # stopped here: the vote of the answers so far
            voters = [v for v in t.vote.voters if v <= i]
            picked = majority_vote(t.attempts, voters)[1] if voters else i
            path.append((spent, result.grades[picked]))
        elif t.shape == "samples":  # stopped here: the best-scored attempt so far
            score = max((c.score for c in critiques[i]), default=0.0)
            if best is None or score > best[0]:
                best = (score, i)
            path.append((spent, result.grades[best[1]]))
        else:
            path.append((spent, result.grades[i]))
    if path and t.shape == "samples":  # the whole run's own pick, whatever rule made it
        path[-1] = (path[-1][0], result.final_correct)
    return path


def _solved_within(paths: Sequence[list[tuple[int, bool]]], budgets: Sequence[int]) -> list[float]:
    shares = []
    for budget in budgets:
        solved = 0
        for path in paths:
            within = [ok for spent, ok in path if spent <= budget]
            solved += bool(within and within[-1])
        shares.append(solved / len(paths) if paths else 0.0)
    return shares


def pass_at_t(results: Sequence[TaskResult], budgets: Sequence[int]) -> list[float]:
    """The share of tasks solved if each loop were cut at t tokens, for each budget t."""
    return _solved_within([_budget_path(r) for r in results if r.trajectory is not None], budgets)


@dataclass
class RunMetrics:
    """Every number of a run's report, each with its bootstrap interval where it has one."""

    tasks: int
    results: int
    errors: int
    iterations: int
    samples: int
    graph: str
    models: dict[str, str]
    oracle: bool
    accuracy: list[Estimate]
    """Per iteration, over every task: a failed task counts as wrong (intention to treat)."""
    final_accuracy: Estimate
    """Over every task, failed ones wrong: the headline figure."""
    answered_accuracy: Estimate
    """Over the answered results only (failures left out): shown beside the headline."""
    first_accuracy: Estimate
    """The first attempt's accuracy over every task (a pick's: its first sample)."""
    flips: list[Counter]
    first_to_final: Counter
    """First attempt -> final answer over the answered results (a pick: first sample ->
    the chosen one)."""
    repair_rate: Estimate
    """wrong->right / wrong at first; n/a for a pick (``selection``), which repairs nothing."""
    damage_rate: Estimate
    selection: bool
    """True when the final answer is a pick among alternatives (best-of-n, a vote, a
    search): first -> final is selection, not repair."""
    critic: CriticMetrics
    pass_at_k: dict[int, Estimate]
    budgets: list[int]
    pass_at_budget: list[float]
    tokens_per_solved: float | None
    total_tokens: int
    tokens_by_role: dict[str, int]
    model_calls: int
    unreported_calls: int
    tools: dict[str, dict[str, int]]
    stop_reasons: Counter
    errors_by_iteration: list[IterationErrors] = field(default_factory=list)
    propagation: PropagationMetrics | None = None
    """Injected tool faults and what became of them (None: no fault was injected)."""
    mistakes: MistakeMetrics | None = None
    """Mistake location and backtracking (None: no labelled mistakes)."""
    mistakes_by_task: dict[str, MistakeMetrics] = field(default_factory=dict)
    """The same per BIG-Bench Mistake task."""
    perturbations: dict[str, int] = field(default_factory=dict)
    """Perturbed critiques by kind (no_feedback, oracle_flipped, biased, ...)."""
    forked_at: int | None = None
    final_score: Estimate | None = None
    """Mean graded score of the final answers where the task family has one (short-answer
    QA: SQuAD token F1), a failed task scoring 0; None otherwise."""
    """For a counterfactual fork: the iteration it branches at."""
    calls_by_server: dict[str, int] = field(default_factory=dict)
    """Model calls per server, for models spread over several servers."""
    estimated_calls: int = 0
    """Model calls whose server reported no token counts, counted with the model's own
    tokenizer instead (in ``total_tokens``, marked estimated)."""
    error_messages: dict[str, int] = field(default_factory=dict)
    """Failed tasks grouped by their error message, most frequent first."""


def _tool_use(results: Sequence[TaskResult]) -> dict[str, dict[str, int]]:
    tools: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        if r.trajectory is None:
            continue
        for item in (*r.trajectory.attempts, *r.trajectory.critiques):
            for call in item.tool_calls:
                tools[call.tool]["calls"] += 1
                if not call.ok:
                    tools[call.tool]["errors"] += 1
                    tools[call.tool][f"error:{call.problem}"] += 1
    return {name: dict(counts) for name, counts in sorted(tools.items())}


def _pass_at_k_statistics(
    results: Sequence[TaskResult], index: TaskIndex, samples: int, sampled: bool
) -> dict[int, SumStatistic]:
    """pass@k for each k the runs support: several samples, or attempts that are all
    independent samples (best-of-n, self-consistency)."""
    if samples > 1:  # n samples per task, c of them right
        n = index.per_task(np.ones(len(results)))
        c = index.per_task([r.final_correct for r in results])
    elif sampled:  # one result per task, its attempts are the samples
        n = index.per_task([len(r.grades) for r in results])
        c = index.per_task([sum(r.grades) for r in results])
    else:
        return {}
    most = int(n.max()) if n.size else 1
    stats = {}
    for k in sorted({1, 2, 5, most} & set(range(1, most + 1))):
        enough = n >= k
        values = [
            pass_at_k(int(a), int(b), k) if e else 0.0 for a, b, e in zip(n, c, enough, strict=True)
        ]
        stats[k] = ratio(values, enough, share=True)
    return stats


def compute_metrics(results: Sequence[TaskResult]) -> RunMetrics:
    """Every metric of a run, from its results alone.

    Per-result facts are read once; every interval comes from one shared set
    of resampled tasks (``bootstrap_sums``), so the cost is linear in results.
    A failed result is a wrong answer in the accuracies (intention to treat).
    """
    answered = np.array([r.trajectory is not None for r in results], dtype=bool)
    ok = [r for r in results if r.trajectory is not None]
    index = TaskIndex([r.task_id for r in results])
    ok_index = index.restricted(answered)
    graph = ok[0].trajectory.graph if ok else ""
    picked = bool(ok) and all(r.trajectory.shape == "samples" for r in ok)
    sampled = picked and all(a.kind == "sample" for r in ok for a in r.trajectory.attempts)
    iterations = 1 if picked else max((len(r.grades) for r in ok), default=1)
    samples = int(np.bincount(index.of_result).max()) if results else 1

    paths = np.zeros((len(results), iterations), dtype=bool)
    if ok:
        paths[answered] = np.array(
            [correctness_by_iteration(r, iterations) for r in ok], dtype=bool
        ).reshape(len(ok), iterations)
    first = np.array([bool(r.grades and r.grades[0]) for r in results], dtype=bool)
    final = np.array([r.final_correct for r in results], dtype=bool)
    stats: dict[object, SumStatistic] = {
        ("accuracy", i): index.share(paths[:, i]) for i in range(iterations)
    }
    stats["final"] = index.share(final)
    stats["final_answered"] = index.share(final, answered)
    stats["first"] = index.share(first)
    if not picked:
        stats["repair"] = index.share(final, answered & ~first)
        stats["damage"] = index.share(~final, answered & first)
    scored = any(r.scores for r in ok)
    if scored:  # a failed task, or one without a score, scores 0 (intention to treat)
        final_scores = [
            r.scores[r.trajectory.final_index] if r.trajectory is not None and r.scores else 0.0
            for r in results
        ]
        stats["final_score"] = ratio(
            index.per_task(final_scores), index.per_task([1.0] * len(results))
        )
    critic, critic_stats = _critic_statistics(ok, ok_index)
    stats.update({("critic", name): s for name, s in critic_stats.items()})
    pass_k = _pass_at_k_statistics(ok, ok_index, samples, sampled)
    stats.update({("pass", k): s for k, s in pass_k.items()})
    estimates = bootstrap_sums(stats, index.tasks)
    for name in critic_stats:
        setattr(critic, name, estimates[("critic", name)])
    undefined = Estimate(None, None, None, index.tasks)
    first_ok, final_ok = first[answered], final[answered]

    budget_paths = [_budget_path(r) for r in ok]
    totals = sorted({spent for path in budget_paths for spent, _ in path})
    budgets = (
        sorted({totals[int(q * (len(totals) - 1))] for q in np.linspace(0, 1, 11)})
        if totals
        else []
    )
    tokens_by_role: Counter = Counter()
    calls = unreported = estimated = 0
    by_server: Counter = Counter()
    for r in ok:  # the records' usages read directly: Trajectory.usage builds new objects
        for attempt in r.trajectory.attempts:
            tokens_by_role["generator"] += attempt.usage.total_tokens
        for critique in r.trajectory.critiques:
            role = "tests" if critique.source == "tests" else "critic"
            tokens_by_role[role] += critique.usage.total_tokens
        for item in (*r.trajectory.attempts, *r.trajectory.critiques):
            calls += item.usage.calls
            unreported += item.usage.unreported_calls
            estimated += item.usage.estimated_calls
            if item.usage.servers:
                by_server.update(item.usage.servers)
    total_tokens = sum(tokens_by_role.values())
    solved = int(final_ok.sum())
    return RunMetrics(
        tasks=index.tasks,
        results=len(results),
        errors=sum(r.error is not None for r in results),
        iterations=iterations,
        samples=samples,
        graph=graph,
        models=ok[0].trajectory.models if ok else {},
        oracle=any(r.trajectory.oracle for r in ok),
        accuracy=[estimates[("accuracy", i)] for i in range(iterations)],
        final_accuracy=estimates["final"],
        final_score=estimates["final_score"] if scored else None,
        answered_accuracy=estimates["final_answered"],
        first_accuracy=estimates["first"],
        flips=_flips(paths[answered]),
        first_to_final=_flips(np.column_stack([first_ok, final_ok]))[0],
        repair_rate=estimates.get("repair", undefined),
        damage_rate=estimates.get("damage", undefined),
        selection=picked,
        critic=critic,
        pass_at_k={k: estimates[("pass", k)] for k in pass_k},
        budgets=budgets,
        pass_at_budget=_solved_within(budget_paths, budgets),
        tokens_per_solved=total_tokens / solved if solved else None,
        total_tokens=total_tokens,
        tokens_by_role=dict(tokens_by_role),
        model_calls=calls,
        unreported_calls=unreported,
        estimated_calls=estimated,
        tools=_tool_use(ok),
        stop_reasons=Counter(r.trajectory.stop_reason for r in ok),
        errors_by_iteration=iteration_errors(ok),
        propagation=propagation_metrics(ok),
        mistakes=mistake_metrics(ok),
        mistakes_by_task=mistake_metrics_by_task(ok),
        perturbations=_perturbations(ok),
        forked_at=next((r.trajectory.forked_at for r in ok), None),
        calls_by_server=dict(sorted(by_server.items())),
        error_messages=dict(Counter(r.error for r in results if r.error is not None).most_common()),
    )


def _flips(paths: np.ndarray) -> list[Counter]:
    """Per pair of adjacent columns of a (results, steps) array of correctness, the counts
    of cc, cw, wc, ww."""
    counts = []
    for i in range(paths.shape[1] - 1):
        before, after = paths[:, i], paths[:, i + 1]
        counts.append(
            Counter(
                {
                    "cc": int((before & after).sum()),
                    "cw": int((before & ~after).sum()),
                    "wc": int((~before & after).sum()),
                    "ww": int((~before & ~after).sum()),
                }
            )
        )
    return counts


def _perturbations(results: Sequence[TaskResult]) -> dict[str, int]:
    kinds: Counter = Counter()
    for r in results:
        for c in r.trajectory.critiques:  # type: ignore[union-attr]
            if c.perturbation:
                kinds[c.perturbation.split(":", 1)[0]] += 1
            elif c.source == "oracle":
                kinds["oracle"] += 1
    return dict(sorted(kinds.items()))
