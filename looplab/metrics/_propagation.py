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

import numpy as np

from looplab.metrics._stats import Estimate, TaskIndex, bootstrap_sums
from looplab.records import Attempt, Critique, TaskResult
from looplab.tasks import parse_number

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


@dataclass(frozen=True)
class IterationErrors:
    """Errors at one iteration: wrong answers, and those introduced, removed, kept or changed."""

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
        if t is None or t.shape == "samples":  # alternatives, not iterations
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
    """Each injected tool fault and what became of it (in the answer, flagged, repaired)."""
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


@dataclass
class PropagationMetrics:
    """What injected tool faults did: wrong answers with and without them, and their path to the
    end."""

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


def _clean_attempts(results: Sequence[TaskResult]) -> list[tuple[int, bool, bool | None]]:
    """(result index, wrong, flagged) of attempts that called tools and saw no fault."""
    found = []
    for n, r in enumerate(results):
        t = r.trajectory
        if t is None:
            continue
        verdicts = _model_verdicts(t.critiques)
        for i, a in enumerate(t.attempts):
            if a.tool_calls and not _faults(a) and i < len(r.grades):
                verdict = verdicts.get(a.iteration, "absent")
                flagged = None if verdict == "absent" else verdict == "incorrect"
                found.append((n, not r.grades[i], flagged))
    return found


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
    index = TaskIndex([r.task_id for r in ok])
    events = fault_events(ok)
    rows = np.array([index.position[e.task_id] for e in events], dtype=np.intp)
    wrong = np.array([e.wrong for e in events], dtype=bool)
    judged = np.array([e.flagged is not None for e in events], dtype=bool)
    flagged = np.array([bool(e.flagged) for e in events], dtype=bool)
    followed = np.array([e.repaired_after is not None for e in events], dtype=bool)
    repaired = np.array([bool(e.repaired_after) for e in events], dtype=bool)
    clean = _clean_attempts(ok)
    clean_rows = index.of_result[[n for n, _, _ in clean]] if clean else np.zeros(0, np.intp)
    clean_wrong = np.array([w for _, w, _ in clean], dtype=bool)
    clean_judged = np.array([f is not None for _, _, f in clean], dtype=bool)
    clean_flagged = np.array([bool(f) for _, _, f in clean], dtype=bool)
    reached = [_reached_final(r) for r in ok]
    faulted = np.array([x is not None for x in reached], dtype=bool)
    found = bootstrap_sums(
        {
            "wrong_when_faulted": index.share(wrong, rows=rows),
            "wrong_when_clean": index.share(clean_wrong, rows=clean_rows),
            "in_answer": index.share([e.in_answer for e in events], rows=rows),
            "flagged": index.share(flagged, wrong & judged, rows=rows),
            "flagged_clean": index.share(clean_flagged, clean_wrong & clean_judged, clean_rows),
            "removed": index.share(repaired, wrong & followed, rows=rows),
            "reached_final": index.share([bool(x) for x in reached], faulted),
        },
        index.tasks,
    )
    return PropagationMetrics(
        faults_injected=sum(modes.values()),
        faults_by_mode=dict(sorted(modes.items())),
        faulted_attempts=len(events),
        **found,
    )


@dataclass
class MistakeMetrics:
    """Mistake finding and backtracking against BIG-Bench Mistake's labelled steps."""

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
    index = TaskIndex([r.task_id for r in ok])
    gold, named, parsed = [], [], []
    for r in ok:
        step, critique = _location(r)
        gold.append(step)
        named.append(critique.mistake_step if critique is not None else None)
        parsed.append(critique is not None and critique.parsed)
    has = np.array([g is not None for g in gold], dtype=bool)
    exact = np.array(
        [p and n == g for g, n, p in zip(gold, named, parsed, strict=True)], dtype=bool
    )
    binary = [
        p and (n is not None) == (g is not None)
        for g, n, p in zip(gold, named, parsed, strict=True)
    ]
    located = np.array([n == g for g, n in zip(gold, named, strict=True)], dtype=bool)
    final = np.array([r.final_correct for r in ok], dtype=bool)
    right_draft = np.array([bool(r.grades and r.grades[0]) for r in ok], dtype=bool)
    found = bootstrap_sums(
        {
            "exact": index.share(exact),
            "binary": index.share(binary),
            "location_given_mistake": index.share(exact, has),
            "repaired": index.share(final, has),
            "repaired_when_located": index.share(final, has & located),
            "repaired_when_mislocated": index.share(final, has & ~located),
            "broken": index.share(~final, right_draft),
        },
        index.tasks,
    )
    sources = {c.source for r in ok for c in r.trajectory.critiques[:1]}  # type: ignore[union-attr]
    source = {"model": "found", "oracle": "gold", "control": "random"}.get(
        next(iter(sources)) if len(sources) == 1 else "", "mixed"
    )
    return MistakeMetrics(
        traces=len(ok),
        with_mistake=int(has.sum()),
        unparsed=sum(1 for _, c in map(_location, ok) if c is not None and not c.parsed),
        location_source=source,
        **found,
    )


def mistake_metrics_by_task(results: Sequence[TaskResult]) -> dict[str, MistakeMetrics]:
    """``mistake_metrics`` per BIG-Bench task (results without a task name are left out)."""
    groups: dict[str, list[TaskResult]] = defaultdict(list)
    for r in results:
        if "bbm_task" in r.gold:
            groups[r.gold["bbm_task"]].append(r)
    found = {name: mistake_metrics(rs) for name, rs in sorted(groups.items())}
    return {name: m for name, m in found.items() if m is not None}
