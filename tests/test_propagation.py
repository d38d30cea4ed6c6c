"""Error-propagation and mistake-finding metrics on hand-built trajectories with known answers."""

from __future__ import annotations

from looplab.metrics import (
    compute_metrics,
    fault_events,
    iteration_errors,
    mistake_metrics,
    propagation_metrics,
)
from looplab.records import Attempt, Critique, TaskResult, ToolCall, Trajectory


def calc(output: str, true: str | None = None) -> ToolCall:
    if true is None:
        return ToolCall(tool="calc", input="x", ok=True, output=output)
    return ToolCall(
        tool="calc", input="x", ok=True, output=output, fault="calc:digit", true_output=true
    )


def result(task_id, answers, grades, *, calls=None, verdicts=None, graph="critic_loop", gold=None):
    calls = calls or [[] for _ in answers]
    attempts = [
        Attempt(
            iteration=i,
            kind="initial" if i == 0 else "repair",
            text=f"Answer: {a}",
            answer=a,
            tool_calls=c,
        )
        for i, (a, c) in enumerate(zip(answers, calls, strict=True))
    ]
    critiques = [
        Critique(iteration=i, verdict=v, confidence=0.9) for i, v in enumerate(verdicts or [])
    ]
    return TaskResult(
        task_id=task_id,
        trajectory=Trajectory(task_id=task_id, graph=graph, attempts=attempts, critiques=critiques),
        grades=grades,
        gold=gold or {},
    )


def test_errors_introduced_removed_kept_and_changed_per_iteration():
    results = [
        result("a", ["5", "6", "6"], [True, False, False]),  # introduced, then kept
        result("b", ["4", "5"], [False, True]),  # removed
        result("c", ["4", "3", "5"], [False, False, True]),  # changed, then removed
        result("d", ["5"], [True]),  # stopped at once
    ]
    rows = iteration_errors(results)
    assert [(r.iteration, r.loops, r.wrong) for r in rows] == [(0, 4, 2), (1, 3, 2), (2, 2, 1)]
    one, two = rows[1], rows[2]
    assert (one.introduced, one.removed, one.kept, one.changed) == (1, 1, 0, 1)
    assert (two.introduced, two.removed, two.kept, two.changed) == (0, 1, 1, 0)


def test_fault_events_follow_a_corrupted_value_to_the_final_answer():
    results = [
        # fault in the answer, critic misses it, no repair: reached the final answer
        result("a", ["381"], [False], calls=[[calc("381", "391")]], verdicts=["correct"]),
        # fault in the answer, flagged, repaired
        result(
            "b",
            ["57", "56"],
            [False, True],
            calls=[[calc("57", "56")], [calc("56")]],
            verdicts=["incorrect", "correct"],
        ),
        # fault that did not matter: the answer is right anyway
        result("c", ["12"], [True], calls=[[calc("99", "12"), calc("12")]], verdicts=["correct"]),
        # clean tool use, wrong, flagged
        result("d", ["8"], [False], calls=[[calc("8")]], verdicts=["incorrect"]),
        # clean and right
        result("e", ["9"], [True], calls=[[calc("9")]], verdicts=["correct"]),
    ]
    events = {e.task_id: e for e in fault_events(results)}
    assert set(events) == {"a", "b", "c"}
    assert events["a"].in_answer and events["a"].wrong and events["a"].flagged is False
    assert events["a"].repaired_after is None
    assert events["b"].in_answer and events["b"].flagged and events["b"].repaired_after is True
    assert not events["c"].in_answer and not events["c"].wrong

    p = propagation_metrics(results)
    assert p.faults_injected == 3 and p.faults_by_mode == {"calc:digit": 3}
    assert p.faulted_attempts == 3
    assert p.wrong_when_faulted.value == 2 / 3
    assert p.wrong_when_clean.value == 1 / 3  # b's repair, d, e
    assert p.in_answer.value == 2 / 3
    assert p.flagged.value == 1 / 2  # of a and b (both wrong)
    assert p.flagged_clean.value == 1.0  # d
    assert p.removed.value == 1.0  # b
    assert p.reached_final.value == 1 / 3  # a, of a, b, c
    assert p.reached_final.low is not None and p.reached_final.low <= 1 / 3 <= p.reached_final.high

    rows = iteration_errors(results)
    assert (rows[0].faulted, rows[0].faulted_wrong, rows[0].flagged) == (3, 2, 1)


def test_no_faults_no_propagation_section():
    assert propagation_metrics([result("a", ["1"], [True])]) is None
    m = compute_metrics([result("a", ["1"], [True])])
    assert m.propagation is None and m.mistakes is None and m.perturbations == {}


def finder(step, *, source="model", parsed=True):
    return Critique(
        iteration=0,
        source=source,
        verdict=None if not parsed else ("incorrect" if step else "correct"),
        parsed=parsed,
        mistake_step=step,
    )


def backtracked(task_id, gold, named, grades, **kwargs):
    r = result(
        task_id, ["1", "2"][: len(grades)], grades, graph="backtrack", gold={"mistake_step": gold}
    )
    t = r.trajectory.model_copy(update={"critiques": [finder(named, **kwargs)]})
    return r.model_copy(update={"trajectory": t})


def test_mistake_location_and_backtracking_metrics():
    results = [
        backtracked("a", 2, 2, [False, True]),  # located, repaired
        backtracked("b", 3, 1, [False, False]),  # mislocated, still wrong
        backtracked("c", 1, 1, [False, False]),  # located, still wrong
        backtracked("d", None, None, [True]),  # no mistake, none found
        backtracked("e", None, 2, [True, False]),  # no mistake, one invented: broken
        backtracked("f", 2, None, [False], parsed=False),  # unparsed
    ]
    k = mistake_metrics(results)
    assert (k.traces, k.with_mistake, k.unparsed) == (6, 4, 1)
    assert k.location_source == "found"
    assert k.exact.value == 3 / 6  # a, c, d
    assert k.binary.value == 4 / 6  # a, b, c, d
    assert k.location_given_mistake.value == 2 / 4  # a, c of a, b, c, f
    assert k.repaired.value == 1 / 4
    assert k.repaired_when_located.value == 1 / 2
    assert k.repaired_when_mislocated.value == 0.0
    assert k.broken.value == 1 / 2  # e of d, e


def test_gold_locations_are_labelled_as_such():
    k = mistake_metrics([backtracked("a", 2, 2, [False, True], source="oracle")])
    assert k.location_source == "gold"


def test_perturbations_are_counted_for_the_report():
    r = result("a", ["1", "2"], [False, True], verdicts=["incorrect", "correct"])
    critiques = [c.model_copy(update={"perturbation": "biased:7"}) for c in r.trajectory.critiques]
    r = r.model_copy(
        update={"trajectory": r.trajectory.model_copy(update={"critiques": critiques})}
    )
    assert compute_metrics([r]).perturbations == {"biased": 2}
