"""The ``browsing`` study: does reading the page help? (CRITIC, Gou et al. 2024; ReAct,
Yao et al. 2023), offline.

Two arms on the ``browse`` task family (questions about invented facts, each naming
the local page that answers it): one answer per task, closed-book (no tools) and with
the ``browse`` tool. The same prompts, the same greedy decoding; only the tool
differs. Reported: accuracy and SQuAD F1 of each arm, how often the model browsed and
how often a page came back, accuracy when it browsed and when it did not, and the
paired comparison (answers changed, wrong -> right, right -> wrong, McNemar's exact
test) -- the facts are invented, so a right closed-book answer is a guess.
"""

from __future__ import annotations

from looplab.metrics import (
    TaskIndex,
    bootstrap_sums,
    compare_results,
    compute_metrics,
    proportion_interval,
    ratio,
)
from looplab.records import TaskResult
from looplab.report import Table, pct
from looplab.runs import EvalConfig
from looplab.studies._budget import arm_tokens
from looplab.studies._format import interval, p_is, signed, tokens
from looplab.studies._types import Study, StudyOptions

__all__ = ["BROWSING", "browse_counts"]


def _arms(o: StudyOptions) -> dict[str, EvalConfig]:
    common = dict(
        tasks=o.tasks or "browse", limit=o.limit, graph="self_consistency", max_iters=1,
        model=o.model, max_tokens=200, concurrency=o.concurrency, seed=o.seed,
    )  # fmt: skip
    return {
        "closed-book": EvalConfig(**common),
        "browser": EvalConfig(**common, tools=["browse"]),
    }


def browse_counts(results: list[TaskResult]) -> tuple[int, int, int, int]:
    """(tasks whose answer called the browser, browse calls, calls that returned a page,
    tasks answered): the final answer's calls only."""
    browsed = calls = pages = answered = 0
    for r in results:
        if r.trajectory is None:
            continue
        answered += 1
        final = r.trajectory.attempts[r.trajectory.final_index]
        used = [c for c in final.tool_calls if c.tool == "browse"]
        browsed += bool(used)
        calls += len(used)
        pages += sum(c.ok for c in used)
    return browsed, calls, pages, answered


def _share(k: int, n: int) -> str:
    if not n:
        return "n/a"
    low, high = proportion_interval(k, n)
    return f"{k}/{n} = {k / n:.0%} [{low:.0%}, {high:.0%}]"


def _f1(results: list[TaskResult]) -> str:
    scored = [r for r in results if r.scores or r.trajectory is None]
    if not scored:
        return "n/a"
    index = TaskIndex([r.task_id for r in scored])
    values = [r.scores[r.trajectory.final_index] if r.trajectory else 0.0 for r in scored]
    found = bootstrap_sums({"f1": ratio(index.per_task(values), index.per_task([1] * len(values)))},
                           index.tasks)["f1"]  # fmt: skip
    return interval(found, ".2f")


def _final_browsed(r: TaskResult) -> bool:
    calls = r.trajectory.attempts[r.trajectory.final_index].tool_calls if r.trajectory else []
    return any(c.tool == "browse" for c in calls)


def _split_accuracy(results: list[TaskResult], browsed: bool) -> str:
    group = [r for r in results if r.trajectory is not None and _final_browsed(r) == browsed]
    return _share(sum(r.final_correct for r in group), len(group))


def _summary(arms: dict[str, list[TaskResult]], o: StudyOptions) -> list[Table]:
    rows = []
    for arm, results in arms.items():
        m = compute_metrics(results)
        browsed, calls, pages, answered = browse_counts(results)
        rows.append([
            arm, pct(m.final_accuracy), _f1(results),
            _share(browsed, answered) if arm != "closed-book" else "— (no tool)",
            f"{pages}/{calls}" if calls else "—",
            _split_accuracy(results, True) if arm != "closed-book" else "—",
            _split_accuracy(results, False) if arm != "closed-book" else "—",
            tokens(arm_tokens(results)[0]), str(m.errors),
        ])  # fmt: skip
    closed, browser = arms["closed-book"], arms["browser"]
    c = compare_results(closed, browser)
    changed = _changed(closed, browser)
    paired = [[
        f"{c.pairs} tasks", f"{c.accuracy_a:.1%} → {c.accuracy_b:.1%}",
        f"{signed(c.difference)}, p {p_is(c.p_value)}",
        f"{changed}/{c.pairs}", str(c.only_b), str(c.only_a),
    ]]  # fmt: skip
    return [
        Table(
            "answers with and without the browser (invented facts: only the page knows)",
            [
                "arm",
                "accuracy",
                "SQuAD F1",
                "browsed",
                "pages read / calls",
                "accuracy when it browsed",
                "when it did not",
                "mean tokens/task",
                "failed",
            ],
            rows,
            "One greedy answer per task; accuracy is SQuAD exact match against the page's "
            "fact (95% Clopper-Pearson), F1 SQuAD's token F1 (bootstrap over tasks). A right "
            "closed-book answer is a guess: the facts exist only on the local site.",
        ),
        Table(
            "browser against closed book, paired by task",
            [
                "paired",
                "accuracy",
                "browser − closed book",
                "answer changed",
                "wrong → RIGHT",
                "right → WRONG",
            ],
            paired,
            "Difference with its Bonett-Price 95% interval; p: McNemar's exact test on the "
            "discordant tasks. 'answer changed': the final answers differ as SQuAD "
            "normalises them.",
        ),
    ]


def _changed(a: list[TaskResult], b: list[TaskResult]) -> int:
    from looplab.tasks import normalize_answer

    def final(r: TaskResult) -> str | None:
        if r.trajectory is None:
            return None
        answer = r.trajectory.attempts[r.trajectory.final_index].answer
        return None if answer is None else normalize_answer(answer)

    first = {r.task_id: final(r) for r in a}
    return sum(r.task_id in first and first[r.task_id] != final(r) for r in b)


BROWSING = Study(
    "browsing",
    "Gou et al. 2024, CRITIC (tool-interactive critiquing); Yao et al. 2023, ReAct",
    "invented facts on a local site: one answer per task, closed book against the browse "
    "tool; how often it browses and what browsing changes",
    default_limit=20,
    arms=_arms,
    summarize=_summary,
)
"""The browsing study (``looplab study browsing``)."""
