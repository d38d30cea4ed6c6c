"""Error propagation: where errors enter a loop, whether they survive, who catches them.

Pure functions of TaskResults; rates carry 95% bootstrap CIs over tasks.

Per iteration i (only loops that reached i; nothing is carried forward here):
errors *introduced* (right at i-1, wrong at i), *removed* (wrong -> right),
*kept* (wrong at both with the same answer: the error carried over verbatim)
and *changed* (wrong at both, a different wrong answer).

Injected tool faults (``ToolCall.fault``), per attempt that saw one:

- *wrong*: the attempt's answer is wrong. Compare with the accuracy of the
  attempts that saw no fault -- faults are injected at random, so the
  difference is their causal effect.
- *in the answer*: the answer states the number the corrupted calculator
  returned (direct evidence it propagated; calculator faults only).
- *flagged*: of faulted attempts that ended wrong, the share the critic called
  incorrect (compare with its recall on unfaulted wrong answers).
- *removed*: of faulted attempts that ended wrong and were followed by a
  repair, the share of loops whose final answer is right.
- *reached the final answer*: of trajectories with a fault, the share whose
  final answer is wrong and states a corrupted value.

Mistake location (``backtrack`` runs, ``TaskResult.gold["mistake_step"]``):
exact-location accuracy (no mistake = ``None``), the binary "has a mistake"
accuracy, location accuracy among traces that have one, and what regenerating
from the location did: right after, still wrong, or broken (a right draft
made wrong), split by whether the location was the gold one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from looplab.evals._checkers import parse_number
from looplab.evals._stats import Estimate, bootstrap
from looplab.evals._store import TaskResult
from looplab.records import Attempt, Critique

__all__ = [
    "IterationErrors",
    "MistakeMetrics",
    "PropagationMetrics",
    "fault_events",
    "iteration_errors",
    "mistake_metrics",
    "mistake_metrics_by_task",
    "propagation_metrics",
]

Group = list[TaskResult]


@dataclass(frozen=True)
class IterationErrors:
    iteration: int
    loops: int
    """Loops that made an attempt at this iteration."""
    wrong: int
    introduced: int
    removed: int
    kept: int
    """Wrong before and after, with the same answer."""
    changed: int
    """Wrong before and after, with a different answer."""
    faulted: int
    """Attempts at this iteration that saw an injected fault."""
    faulted_wrong: int
    flagged: int
    """Faulted attempts that were wrong and that the critic called incorrect."""


def iteration_errors(results: Sequence[TaskResult]) -> list[IterationErrors]:
    """The per-iteration table (counts, no intervals)."""
    rows: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in results:
        t = r.trajectory
        if t is None or t.graph == "best_of_n":
            continue
        verdicts = _model_verdicts(t.critiques)
        for i, attempt in enumerate(t.attempts):
            if i >= len(r.grades):
                break
            row, right = rows[i], r.grades[i]
            row["loops"] += 1
            row["wrong"] += not right
            if i > 0:
                before, previous = r.grades[i - 1], t.attempts[i - 1]
                row["introduced"] += before and not right
                row["removed"] += not before and right
                if not before and not right:
                    same = _same_answer(previous.answer, attempt.answer)
                    row["kept" if same else "changed"] += 1
            if _faults(attempt):
                row["faulted"] += 1
                if not right:
                    row["faulted_wrong"] += 1
                    row["flagged"] += verdicts.get(attempt.iteration) == "incorrect"
    fields = ("loops", "wrong", "introduced", "removed", "kept", "changed")
    fault_fields = ("faulted", "faulted_wrong", "flagged")
    return [
        IterationErrors(i, *(rows[i][f] for f in fields), *(rows[i][f] for f in fault_fields))
        for i in sorted(rows)
    ]


def _same_answer(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a == b
    na, nb = parse_number(a), parse_number(b)
    return na == nb if na is not None and nb is not None else a.strip() == b.strip()


def _model_verdicts(critiques: Sequence[Critique]) -> dict[int, str | None]:
    return {c.iteration: c.verdict for c in critiques if c.source == "model"}


def _faults(attempt: Attempt) -> list[str]:
    return [call.fault for call in attempt.tool_calls if call.fault]


def _states_fault(attempt: Attempt) -> bool:
    """The answer states a number a corrupted calculator call returned."""
    stated = parse_number(attempt.answer)
    if stated is None:
        return False
    return any(
        call.fault
        and call.tool == "calc"
        and parse_number(call.output) == stated != parse_number(call.true_output)
        for call in attempt.tool_calls
    )


@dataclass(frozen=True)
class FaultEvent:
    """One attempt that saw an injected fault, and what became of it."""

    task_id: str
    iteration: int
    faults: tuple[str, ...]
    wrong: bool
    in_answer: bool
    flagged: bool | None
    """The critic called it incorrect (None: no model critique of this attempt)."""
    repaired_after: bool | None
    """A later attempt exists: is the final answer right? (None: no later attempt)."""


def fault_events(results: Sequence[TaskResult]) -> list[FaultEvent]:
    events = []
    for r in results:
        t = r.trajectory
        if t is None:
            continue
        verdicts = _model_verdicts(t.critiques)
        for i, attempt in enumerate(t.attempts):
            faults = _faults(attempt)
            if not faults or i >= len(r.grades):
                continue
            verdict = verdicts.get(attempt.iteration, "absent")
            events.append(
                FaultEvent(
                    task_id=r.task_id,
                    iteration=i,
                    faults=tuple(faults),
                    wrong=not r.grades[i],
                    in_answer=_states_fault(attempt),
                    flagged=None if verdict == "absent" else verdict == "incorrect",
                    repaired_after=r.final_correct if i < len(t.attempts) - 1 else None,
                )
            )
    return events


def _reached_final(r: TaskResult) -> bool | None:
    """None when the trajectory saw no fault."""
    t = r.trajectory
    if t is None or not any(_faults(a) for a in t.attempts):
        return None
    final = t.final
    if final is None or r.final_correct:
        return False
    stated = parse_number(final.answer)
    corrupted = {
        parse_number(call.output)
        for a in t.attempts
        for call in a.tool_calls
        if call.fault and call.tool == "calc" and call.output is not None
    }
    return stated is not None and stated in corrupted


def _share(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass
class PropagationMetrics:
    faults_injected: int
    """Tool calls whose result was corrupted."""
    faults_by_mode: dict[str, int]
    faulted_attempts: int
    wrong_when_faulted: Estimate
    wrong_when_clean: Estimate
    """Attempts that saw tool calls but no fault: the baseline."""
    in_answer: Estimate
    flagged: Estimate
    flagged_clean: Estimate
    """The critic's recall on wrong attempts that saw no fault."""
    removed: Estimate
    reached_final: Estimate


def propagation_metrics(results: Sequence[TaskResult]) -> PropagationMetrics | None:
    """Fault metrics, or None when the run injected no fault."""
    ok = [r for r in results if r.trajectory is not None]
    modes: dict[str, int] = defaultdict(int)
    for r in ok:
        for a in r.trajectory.attempts:  # type: ignore[union-attr]
            for fault in _faults(a):
                modes[fault] += 1
    if not modes:
        return None
    by_task: dict[str, Group] = defaultdict(list)
    for r in ok:
        by_task[r.task_id].append(r)
    groups = list(by_task.values())

    def events(sample: Sequence[Group]) -> list[FaultEvent]:
        return fault_events([r for g in sample for r in g])

    def clean(sample: Sequence[Group]) -> list[tuple[bool, bool | None]]:
        """(wrong, flagged) of attempts that called tools and saw no fault."""
        found = []
        for g in sample:
            for r in g:
                verdicts = _model_verdicts(r.trajectory.critiques)  # type: ignore[union-attr]
                for i, a in enumerate(r.trajectory.attempts):  # type: ignore[union-attr]
                    if a.tool_calls and not _faults(a) and i < len(r.grades):
                        verdict = verdicts.get(a.iteration, "absent")
                        flagged = None if verdict == "absent" else verdict == "incorrect"
                        found.append((not r.grades[i], flagged))
        return found

    def stat(fn, seed):
        return bootstrap(groups, fn, seed=seed)

    return PropagationMetrics(
        faults_injected=sum(modes.values()),
        faults_by_mode=dict(sorted(modes.items())),
        faulted_attempts=len(fault_events(ok)),
        wrong_when_faulted=stat(lambda s: _share([e.wrong for e in events(s)]), 31),
        wrong_when_clean=stat(lambda s: _share([w for w, _ in clean(s)]), 32),
        in_answer=stat(lambda s: _share([e.in_answer for e in events(s)]), 33),
        flagged=stat(
            lambda s: _share([e.flagged for e in events(s) if e.wrong and e.flagged is not None]),
            34,
        ),
        flagged_clean=stat(lambda s: _share([f for w, f in clean(s) if w and f is not None]), 35),
        removed=stat(
            lambda s: _share(
                [e.repaired_after for e in events(s) if e.wrong and e.repaired_after is not None]
            ),
            36,
        ),
        reached_final=stat(
            lambda s: _share([x for g in s for r in g if (x := _reached_final(r)) is not None]),
            37,
        ),
    )


@dataclass
class MistakeMetrics:
    traces: int
    with_mistake: int
    unparsed: int
    location_source: str
    """found (the model's), gold (labelled: an oracle) or random (the control)."""
    exact: Estimate
    """The named first wrong step (or "none") equals the gold one."""
    binary: Estimate
    """"Has a mistake" right."""
    location_given_mistake: Estimate
    """Exact location among traces that have a mistake."""
    repaired: Estimate
    """Traces with a mistake whose regenerated answer is right."""
    repaired_when_located: Estimate
    repaired_when_mislocated: Estimate
    broken: Estimate
    """Traces whose draft was right and whose final answer is wrong."""


def _location(r: TaskResult) -> tuple[int | None, Critique | None]:
    gold = r.gold.get("mistake_step")
    critiques = r.trajectory.critiques if r.trajectory is not None else []
    return gold, (critiques[0] if critiques else None)


def mistake_metrics(results: Sequence[TaskResult]) -> MistakeMetrics | None:
    """Location and backtracking metrics, or None for runs without labelled mistakes."""
    ok = [r for r in results if r.trajectory is not None and "mistake_step" in r.gold]
    if not ok:
        return None
    by_task: dict[str, Group] = defaultdict(list)
    for r in ok:
        by_task[r.task_id].append(r)
    groups = list(by_task.values())

    def rows(sample: Sequence[Group]):
        out = []
        for g in sample:
            for r in g:
                gold, critique = _location(r)
                named = critique.mistake_step if critique is not None else None
                parsed = critique is not None and critique.parsed
                out.append((gold, named, parsed, r))
        return out

    def exact(s):
        return _share([p and n == g for g, n, p, _ in rows(s)])

    def binary(s):
        return _share([p and (n is not None) == (g is not None) for g, n, p, _ in rows(s)])

    def given(s):
        return _share([p and n == g for g, n, p, _ in rows(s) if g is not None])

    def repaired(s, when=None):
        return _share(
            [
                r.final_correct
                for g, n, p, r in rows(s)
                if g is not None and (when is None or (n == g) == when)
            ]
        )

    def broken(s):
        return _share([not r.final_correct for _, _, _, r in rows(s) if r.grades and r.grades[0]])

    sources = {c.source for r in ok for c in r.trajectory.critiques[:1]}  # type: ignore[union-attr]
    source = {"model": "found", "oracle": "gold", "control": "random"}.get(
        next(iter(sources)) if len(sources) == 1 else "", "mixed"
    )
    return MistakeMetrics(
        traces=len(ok),
        with_mistake=sum(r.gold["mistake_step"] is not None for r in ok),
        unparsed=sum(1 for _, c in map(_location, ok) if c is not None and not c.parsed),
        location_source=source,
        exact=bootstrap(groups, exact, seed=41),
        binary=bootstrap(groups, binary, seed=42),
        location_given_mistake=bootstrap(groups, given, seed=43),
        repaired=bootstrap(groups, repaired, seed=44),
        repaired_when_located=bootstrap(groups, lambda s: repaired(s, True), seed=45),
        repaired_when_mislocated=bootstrap(groups, lambda s: repaired(s, False), seed=46),
        broken=bootstrap(groups, broken, seed=47),
    )


def mistake_metrics_by_task(results: Sequence[TaskResult]) -> dict[str, MistakeMetrics]:
    """``mistake_metrics`` per BIG-Bench task (results without a task name are left out)."""
    groups: dict[str, list[TaskResult]] = defaultdict(list)
    for r in results:
        if "bbm_task" in r.gold:
            groups[r.gold["bbm_task"]].append(r)
    found = {name: mistake_metrics(rs) for name, rs in sorted(groups.items())}
    return {name: m for name, m in found.items() if m is not None}
