"""Metrics of a run: pure functions of its TaskResults, each rate with a 95% bootstrap CI.

Units are tasks: a bootstrap resample draws tasks (with all their samples),
so intervals say how much a number depends on which tasks were drawn.

- Accuracy at each iteration: a loop that stopped early carries its last
  answer forward (what a user of the loop would get with that budget).
- Flips between consecutive iterations and from first to final answer:
  correct->correct, correct->wrong, wrong->correct, wrong->wrong; the
  repair rate is wrong->correct / wrong-at-first, the damage rate
  correct->wrong / correct-at-first.
- The critic against ground truth, on every judged attempt: the confusion
  matrix, precision and recall of "incorrect", the false-alarm rate on
  correct answers, and the calibration of its confidence (Brier score, ECE
  over 10 bins) with P(correct) = confidence for "correct", 1 - confidence
  for "incorrect", 0.5 for "unsure". Unparsed critiques are counted apart.
- pass@k with the unbiased estimator, when there are several samples (or
  best-of-n's samples); success against cumulative tokens (pass@t, Olausson
  et al.) and tokens per solved task.
- Tool use per tool: calls, errors, and what went wrong.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from looplab.evals._propagation import (
    IterationErrors,
    MistakeMetrics,
    PropagationMetrics,
    iteration_errors,
    mistake_metrics,
    mistake_metrics_by_task,
    propagation_metrics,
)
from looplab.evals._stats import Estimate, bootstrap, pass_at_k
from looplab.evals._store import TaskResult
from looplab.graphs._prebuilt import _score

__all__ = [
    "CriticMetrics",
    "RunMetrics",
    "accuracy_curve",
    "compute_metrics",
    "correctness_by_iteration",
    "flip_counts",
    "pass_at_t",
]

Group = list[TaskResult]
"""All the samples of one task: the unit of resampling."""

FLIPS = ("cc", "cw", "wc", "ww")


def correctness_by_iteration(result: TaskResult, iterations: int) -> list[bool]:
    """Correct or not at iterations 0..iterations-1, the last answer carried forward."""
    grades = list(result.grades) or [False]
    if result.trajectory is not None and result.trajectory.graph == "best_of_n":
        # best-of-n has no iterations: its answer is the critic's pick from the start
        grades = [result.final_correct]
    return [grades[min(i, len(grades) - 1)] for i in range(iterations)]


def _flip(before: bool, after: bool) -> str:
    return ("c" if before else "w") + ("c" if after else "w")


def flip_counts(results: Sequence[TaskResult], iterations: int) -> list[Counter]:
    """Per transition i -> i+1, the counts of cc, cw, wc, ww."""
    counts = [Counter({k: 0 for k in FLIPS}) for _ in range(max(iterations - 1, 0))]
    for result in results:
        path = correctness_by_iteration(result, iterations)
        for i in range(iterations - 1):
            counts[i][_flip(path[i], path[i + 1])] += 1
    return counts


def _flatten(groups: Sequence[Group]) -> list[TaskResult]:
    return [r for g in groups for r in g]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def accuracy_curve(groups: Sequence[Group], iterations: int) -> list[Estimate]:
    def at(i: int):
        return lambda sample: _mean(
            [correctness_by_iteration(r, iterations)[i] for r in _flatten(sample)]
        )

    # one seed for every iteration: the same resampled task sets, so equal accuracies
    # get equal intervals and the curve's points are comparable
    return [bootstrap(groups, at(i), seed=0) for i in range(iterations)]


def _first_final(results: Sequence[TaskResult]) -> Counter:
    counts = Counter({k: 0 for k in FLIPS})
    for r in results:
        first = r.grades[0] if r.grades else False
        counts[_flip(first, r.final_correct)] += 1
    return counts


@dataclass
class CriticMetrics:
    judged: int = 0
    unparsed: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    """confusion[verdict][truth], truth in {"correct", "incorrect"}."""
    precision_incorrect: Estimate | None = None
    recall_incorrect: Estimate | None = None
    false_alarm: Estimate | None = None
    verdict_accuracy: Estimate | None = None
    brier: Estimate | None = None
    ece: Estimate | None = None


def _judgements(results: Sequence[TaskResult]) -> list[tuple[str | None, float | None, bool]]:
    """(verdict, confidence, truth) for every model critique of a graded attempt."""
    found = []
    for r in results:
        if r.trajectory is None:
            continue
        for c in r.trajectory.critiques:
            if c.source != "model" or c.iteration >= len(r.grades):
                continue
            found.append((c.verdict, c.confidence, r.grades[c.iteration]))
    return found


def _p_correct(verdict: str, confidence: float | None) -> float:
    conf = 0.5 if confidence is None else confidence
    return {"correct": conf, "incorrect": 1 - conf}.get(verdict, 0.5)


def _ece(pairs: Sequence[tuple[float, bool]], bins: int = 10) -> float | None:
    if not pairs:
        return None
    total = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [(p, y) for p, y in pairs if low <= p < high or (b == bins - 1 and p == 1.0)]
        if members:
            confidence = sum(p for p, _ in members) / len(members)
            accuracy = sum(y for _, y in members) / len(members)
            total += len(members) / len(pairs) * abs(accuracy - confidence)
    return total


def critic_metrics(groups: Sequence[Group]) -> CriticMetrics:
    judgements = _judgements(_flatten(groups))
    metrics = CriticMetrics(judged=len(judgements))
    metrics.unparsed = sum(v is None for v, _, _ in judgements)
    for verdict in ("correct", "incorrect", "unsure"):
        metrics.confusion[verdict] = {
            truth: sum(v == verdict and y == (truth == "correct") for v, _, y in judgements)
            for truth in ("correct", "incorrect")
        }

    def stat(fn):
        return lambda sample: fn(_judgements(_flatten(sample)))

    def precision(js):
        said = [y for v, _, y in js if v == "incorrect"]
        return _mean([not y for y in said])

    def recall(js):
        wrong = [v for v, _, y in js if not y and v is not None]
        return _mean([v == "incorrect" for v in wrong])

    def false_alarm(js):
        right = [v for v, _, y in js if y and v is not None]
        return _mean([v == "incorrect" for v in right])

    def accuracy(js):
        decided = [(v, y) for v, _, y in js if v in ("correct", "incorrect")]
        return _mean([(v == "correct") == y for v, y in decided])

    def brier(js):
        return _mean([(_p_correct(v, c) - y) ** 2 for v, c, y in js if v is not None])

    def ece(js):
        return _ece([(_p_correct(v, c), y) for v, c, y in js if v is not None])

    metrics.precision_incorrect = bootstrap(groups, stat(precision), seed=11)
    metrics.recall_incorrect = bootstrap(groups, stat(recall), seed=12)
    metrics.false_alarm = bootstrap(groups, stat(false_alarm), seed=13)
    metrics.verdict_accuracy = bootstrap(groups, stat(accuracy), seed=14)
    metrics.brier = bootstrap(groups, stat(brier), seed=15)
    metrics.ece = bootstrap(groups, stat(ece), seed=16)
    return metrics


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
        if t.graph == "best_of_n":
            score = max((_score(c) for c in critiques[i]), default=0.0)
            if best is None or score > best[0]:
                best = (score, i)
            path.append((spent, result.grades[best[1]]))
        else:
            path.append((spent, result.grades[i]))
    return path


def pass_at_t(results: Sequence[TaskResult], budgets: Sequence[int]) -> list[float]:
    """The share of tasks solved if each loop were cut at t tokens, for each budget t."""
    paths = [_budget_path(r) for r in results if r.trajectory is not None]
    shares = []
    for budget in budgets:
        solved = 0
        for path in paths:
            within = [ok for spent, ok in path if spent <= budget]
            solved += bool(within and within[-1])
        shares.append(solved / len(paths) if paths else 0.0)
    return shares


@dataclass
class RunMetrics:
    tasks: int
    results: int
    errors: int
    iterations: int
    samples: int
    graph: str
    models: dict[str, str]
    oracle: bool
    accuracy: list[Estimate]
    final_accuracy: Estimate
    flips: list[Counter]
    first_to_final: Counter
    repair_rate: Estimate
    damage_rate: Estimate
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
    """For a counterfactual fork: the iteration it branches at."""
    calls_by_server: dict[str, int] = field(default_factory=dict)
    """Model calls per server, for models spread over several servers."""


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


def compute_metrics(results: Sequence[TaskResult]) -> RunMetrics:
    """Every metric of a run, from its results alone."""
    ok = [r for r in results if r.trajectory is not None]
    by_task: dict[str, Group] = defaultdict(list)
    for r in ok:
        by_task[r.task_id].append(r)
    groups = list(by_task.values())
    iterations = max((len(r.grades) for r in ok), default=1)
    graph = ok[0].trajectory.graph if ok else ""
    if graph == "best_of_n":
        iterations = 1
    samples = max((len(g) for g in groups), default=1)

    def final(sample):
        return _mean([r.final_correct for r in _flatten(sample)])

    def repair(sample):
        counts = _first_final(_flatten(sample))
        wrong = counts["wc"] + counts["ww"]
        return counts["wc"] / wrong if wrong else None

    def damage(sample):
        counts = _first_final(_flatten(sample))
        right = counts["cc"] + counts["cw"]
        return counts["cw"] / right if right else None

    pass_k: dict[int, Estimate] = {}
    n_per_task = (
        samples
        if samples > 1
        else (max((len(r.grades) for r in ok), default=1) if graph == "best_of_n" else 1)
    )
    if n_per_task > 1:
        for k in sorted({1, 2, 5, n_per_task} & set(range(1, n_per_task + 1))):

            def estimator(sample, k=k):
                values = []
                for group in sample:
                    if samples > 1:
                        n, c = len(group), sum(r.final_correct for r in group)
                    else:
                        n, c = len(group[0].grades), sum(group[0].grades)
                    if n >= k:
                        values.append(pass_at_k(n, c, k))
                return _mean(values)

            pass_k[k] = bootstrap(groups, estimator, seed=100 + k)

    totals = sorted({spent for r in ok for spent, _ in _budget_path(r)})
    budgets = (
        sorted(
            {
                totals[int(q * (len(totals) - 1))]
                for q in (0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
            }
        )
        if totals
        else []
    )
    tokens_by_role: Counter = Counter()
    calls = unreported = 0
    by_server: Counter = Counter()
    for r in ok:
        for attempt in r.trajectory.attempts:
            tokens_by_role["generator"] += attempt.usage.total_tokens
        for critique in r.trajectory.critiques:
            role = "tests" if critique.source == "tests" else "critic"
            tokens_by_role[role] += critique.usage.total_tokens
        usage = r.trajectory.usage
        calls += usage.calls
        unreported += usage.unreported_calls
        by_server.update(usage.servers)
    total_tokens = sum(tokens_by_role.values())
    solved = sum(r.final_correct for r in ok)
    return RunMetrics(
        tasks=len(groups),
        results=len(results),
        errors=sum(r.error is not None for r in results),
        iterations=iterations,
        samples=samples,
        graph=graph,
        models=ok[0].trajectory.models if ok else {},
        oracle=any(r.trajectory.oracle for r in ok),
        accuracy=accuracy_curve(groups, iterations),
        final_accuracy=bootstrap(groups, final, seed=0),
        flips=flip_counts(ok, iterations),
        first_to_final=_first_final(ok),
        repair_rate=bootstrap(groups, repair, seed=2),
        damage_rate=bootstrap(groups, damage, seed=3),
        critic=critic_metrics(groups),
        pass_at_k=pass_k,
        budgets=budgets,
        pass_at_budget=pass_at_t(ok, budgets),
        tokens_per_solved=total_tokens / solved if solved else None,
        total_tokens=total_tokens,
        tokens_by_role=dict(tokens_by_role),
        model_calls=calls,
        unreported_calls=unreported,
        tools=_tool_use(ok),
        stop_reasons=Counter(r.trajectory.stop_reason for r in ok),
        errors_by_iteration=iteration_errors(ok),
        propagation=propagation_metrics(ok),
        mistakes=mistake_metrics(ok),
        mistakes_by_task=mistake_metrics_by_task(ok),
        perturbations=_perturbations(ok),
        forked_at=next((r.trajectory.forked_at for r in ok), None),
        calls_by_server=dict(sorted(by_server.items())),
    )


def _perturbations(results: Sequence[TaskResult]) -> dict[str, int]:
    kinds: Counter = Counter()
    for r in results:
        for c in r.trajectory.critiques:  # type: ignore[union-attr]
            if c.perturbation:
                kinds[c.perturbation.split(":", 1)[0]] += 1
            elif c.source == "oracle":
                kinds["oracle"] += 1
    return dict(sorted(kinds.items()))
