"""The report as data: metrics become tables and lines of text, drawn by thin renderers.

``run_report`` lays out every section of a run's report once; the terminal
(``_terminal.py``) and report.html (``_html.py``) only draw its blocks, and
the studies build their summaries from the same ``Table``. So a number
appears in both places or in neither, written the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from looplab.metrics import COVERAGE, FLIPS, Estimate, RunMetrics, interval_name
from looplab.report._blocks import Block, Table, Text, number, pct

__all__ = ["FLIP_NAMES", "Report", "run_report"]

FLIP_NAMES = {"cc": "right→right", "cw": "right→WRONG", "wc": "wrong→RIGHT", "ww": "wrong→wrong"}
"""A flip's key (first and final grade: c right, w wrong) -> how the report names it."""


@dataclass
class Report:
    """A run's report: the summary (before the plots in report.html), then the sections."""

    summary: list[Block] = field(default_factory=list)
    sections: list[Block] = field(default_factory=list)


FLIP_KINDS_NOTE = (
    "introduced: right→wrong · removed: wrong→right · kept: the same wrong answer again · "
    "changed: another wrong answer"
)

_LOCATION_SOURCES = {
    "found": "found by the critic's model",
    "gold": "GOLD location given (ground truth: an upper bound)",
    "random": "RANDOM location (the control)",
}


def run_report(m: RunMetrics) -> Report:
    """Every section of a run's report, in order, from its metrics alone."""
    return Report(summary=_summary(m), sections=_sections(m))


def _summary(m: RunMetrics) -> list[Block]:
    models = ", ".join(f"{role}: {name}" for role, name in m.models.items())
    blocks: list[Block] = [
        Text(
            [
                f"graph {m.graph} · {m.tasks} tasks × {m.samples} sample(s) · "
                f"{m.results} results, {m.errors} errors · {models}"
            ]
        )
    ]
    if m.oracle:
        blocks.append(
            Text(
                [
                    "ORACLE: ground truth stopped these loops. The numbers are an upper "
                    "bound, not self-correction (Huang et al. 2023)."
                ],
                tone="alert",
            )
        )
    perturbed = _perturbed(m)
    if perturbed:
        blocks.append(Text([f"PERTURBED: {perturbed}"], tone="warning"))
    if m.errors:
        blocks.append(Text(_error_lines(m), tone="alert"))
    per_solved = f"{m.tokens_per_solved:,.0f}" if m.tokens_per_solved else "n/a (none solved)"
    answered = (
        f" (over the {m.results - m.errors} answered: {pct(m.answered_accuracy)})"
        if m.errors
        else ""
    )
    if m.selection:
        change = (
            f"first sample {pct(m.first_accuracy)} → chosen {pct(m.final_accuracy)} "
            "(a pick among samples: selection, not repair)"
        )
    else:
        change = f"repair rate {pct(m.repair_rate)} · damage rate {pct(m.damage_rate)}"
    blocks.append(
        Text(
            [
                f"final accuracy {pct(m.final_accuracy)}{answered} · {change} · "
                f"tokens {m.total_tokens:,} (per solved task: {per_solved})"
            ]
        )
    )
    if m.final_score is not None:
        blocks.append(Text([f"SQuAD token F1 of the final answers {_score(m.final_score)}"]))
    blocks.append(Text([_interval_note(m)], "note"))
    return blocks


def _score(e: Estimate) -> str:
    """A mean score in [0, 1] with its bootstrap interval."""
    if e.value is None:
        return "n/a"
    if e.low is None or e.high is None:
        return f"{e.value:.2f}"
    return f"{e.value:.2f} [{e.low:.2f}, {e.high:.2f}] (bootstrap over tasks)"


def _interval_note(m: RunMetrics) -> str:
    """Which interval each kind of figure carries: the report says, never assumes."""
    shares = {interval_name(e) for e in (*m.accuracy, m.final_accuracy) if e.low is not None}
    text = "95% intervals over tasks in brackets; accuracies: " + (
        ", ".join(sorted(shares)) or "none"
    )
    if m.errors:
        text += "; a failed task counts as wrong (intention to treat)"
    return (
        text + "; critic rates, AUROC, ECE, Brier: percentile bootstrap over tasks "
        "(Clopper-Pearson where it collapses). METRICS.md defines each figure."
    )


def _sections(m: RunMetrics) -> list[Block]:
    blocks: list[Block] = [
        Table(
            "accuracy per iteration (a stopped loop keeps its last answer)",
            ["iteration", "accuracy"],
            [[str(i), pct(e)] for i, e in enumerate(m.accuracy)]
            + [["final", pct(m.final_accuracy)]],
        ),
        _flips_table(m),
        *_propagation(m),
        *_critic(m),
    ]
    if m.pass_at_k:
        line = " · ".join(f"pass@{k} {pct(e)}" for k, e in m.pass_at_k.items())
        blocks.append(Text([f"pass@k (unbiased estimator): {line}"]))
    if m.budgets:
        blocks.append(
            Table(
                "pass@t: solved if cut at t tokens (all roles)",
                ["tokens t", "solved"],
                [[f"{t:,}", f"{s:.1%}"] for t, s in zip(m.budgets, m.pass_at_budget, strict=True)],
            )
        )
    roles = ", ".join(f"{role} {n:,}" for role, n in m.tokens_by_role.items())
    cost = [f"tokens: {m.total_tokens:,} ({roles}) in {m.model_calls:,} model calls"]
    if m.calls_by_server:
        spread = " · ".join(f"{server} {n:,}" for server, n in m.calls_by_server.items())
        cost.append(f"model calls per server: {spread}")
    blocks.append(Text(cost))
    if m.unreported_calls:
        blocks.append(
            Text(
                [
                    f"MISSING: {m.unreported_calls} calls' servers reported no token counts and "
                    "their tokenizer is unknown: the token figures leave them out"
                ],
                "warning",
            )
        )
    if m.estimated_calls:
        blocks.append(
            Text(
                [
                    f"ESTIMATED: {m.estimated_calls} calls' servers reported no token counts; "
                    "they were counted with the model's own tokenizer"
                ],
                "warning",
            )
        )
    if m.tools:
        blocks.append(_tools(m))
    reasons = ", ".join(f"{reason or '?'} {n}" for reason, n in m.stop_reasons.most_common())
    blocks.append(Text([f"stop reasons: {reasons}"]))
    return blocks


def _flips_table(m: RunMetrics) -> Table:
    if m.selection:
        return Table(
            "selection: the first sample against the one chosen",
            ["", *(FLIP_NAMES[k] for k in FLIPS)],
            [["first sample → chosen", *(str(m.first_to_final[k]) for k in FLIPS)]],
            note="The answer is picked among samples drawn independently: nothing was "
            "repaired, so no repair or damage rate; pass@k below says what a perfect pick "
            "would reach.",
        )
    return Table(
        "flips: what the loop repaired and what it broke",
        ["transition", *(FLIP_NAMES[k] for k in FLIPS)],
        [[f"{i} → {i + 1}", *(str(c[k]) for k in FLIPS)] for i, c in enumerate(m.flips)]
        + [["first → final", *(str(m.first_to_final[k]) for k in FLIPS)]],
        note=f"repair rate (wrong→right / wrong at first): {pct(m.repair_rate)} · "
        f"damage rate (right→wrong / right at first): {pct(m.damage_rate)}",
    )


def _perturbed(m: RunMetrics) -> str | None:
    """How the run was perturbed, or None for a plain run."""
    if not (m.perturbations or m.propagation or m.forked_at is not None):
        return None
    parts = [f"{kind} ×{n}" for kind, n in m.perturbations.items()]
    if m.propagation:
        parts.append(f"{m.propagation.faults_injected} injected tool faults")
    if m.forked_at is not None:
        parts.append(f"a fork: iterations before {m.forked_at} are the parent's")
    return " · ".join(parts)


def _error_lines(m: RunMetrics, most: int = 5) -> list[str]:
    """Failed tasks grouped by message, with counts."""
    lines = [f"{m.errors} of {m.results} tasks failed:"]
    for message, count in list(m.error_messages.items())[:most]:
        lines.append(f"  {count} × {message[:300]}")
    if len(m.error_messages) > most:
        lines.append(f"  ... and {len(m.error_messages) - most} other messages")
    return lines


def _critic(m: RunMetrics) -> list[Block]:
    c = m.critic
    if not c.judged:
        return []
    rows = [[verdict, str(r["correct"]), str(r["incorrect"])] for verdict, r in c.confusion.items()]
    rows.append(["(unparsed)", "", f"{c.unparsed} in all"])
    lines = [
        f"verdict accuracy {pct(c.verdict_accuracy)} · precision of 'incorrect' "
        f"{pct(c.precision_incorrect)} · recall of 'incorrect' {pct(c.recall_incorrect)} · "
        f"false alarms on right answers {pct(c.false_alarm)}",
        f"calibration of P(right) over the {c.with_probability} judgements that give one "
        f"({c.judged - c.with_probability} unsure or unparsed left out): "
        f"Brier {number(c.brier)} · ECE {number(c.ece)}",
    ]
    lines += [
        f"confidence ({source}, {d.n} judgements) tells right from wrong answers: "
        f"AUROC {number(d.auroc)} · AURC {number(d.aurc)} · accuracy at "
        f"{COVERAGE:.0%} coverage (the most confident, ties averaged over their orders) "
        f"{pct(d.selective_accuracy)} · ECE {number(d.ece)} · Brier {number(d.brier)}"
        for source, d in c.by_source.items()
    ]
    return [
        Table(
            f"the critic against ground truth ({c.judged} judgements)",
            ["critic said", "answer was right", "answer was wrong"],
            rows,
        ),
        Text(lines),
    ]


def _tools(m: RunMetrics) -> Table:
    rows = []
    for name, counts in m.tools.items():
        problems = ", ".join(
            f"{k.split(':', 1)[1]} {v}" for k, v in counts.items() if k.startswith("error:")
        )
        rows.append([name, str(counts.get("calls", 0)), str(counts.get("errors", 0)), problems])
    return Table("tool use", ["tool", "calls", "errors", "what went wrong"], rows)


def _propagation(m: RunMetrics) -> list[Block]:
    """Errors per iteration, injected faults, mistake finding (empty for a plain run)."""
    blocks: list[Block] = []
    errors = _errors_table(m)
    if errors is not None:
        blocks.append(errors)
    p = m.propagation
    if p is not None:
        modes = ", ".join(f"{mode} {n}" for mode, n in p.faults_by_mode.items())
        blocks.append(
            Text(
                [
                    f"wrong when a fault was injected {pct(p.wrong_when_faulted)} · "
                    f"wrong with clean tool results {pct(p.wrong_when_clean)}",
                    f"answer states the corrupted value {pct(p.in_answer)} · "
                    f"reached the final answer {pct(p.reached_final)}",
                    f"critic flagged faulted wrong answers {pct(p.flagged)} (clean wrong "
                    f"answers {pct(p.flagged_clean)}) · a repair made it right {pct(p.removed)}",
                ],
                title=f"injected tool faults: {p.faults_injected} ({modes}) in "
                f"{p.faulted_attempts} attempts",
            )
        )
    k = m.mistakes
    if k is not None:
        source = _LOCATION_SOURCES.get(k.location_source, k.location_source)
        blocks.append(
            Text(
                [
                    f"exact location {pct(k.exact)} · has-a-mistake {pct(k.binary)} · "
                    f"location among traces with a mistake {pct(k.location_given_mistake)}",
                    f"backtracking: right after regenerating {pct(k.repaired)} (location "
                    f"right {pct(k.repaired_when_located)}, location wrong "
                    f"{pct(k.repaired_when_mislocated)}) · right drafts broken {pct(k.broken)}",
                ],
                title=f"mistake finding: {k.traces} traces, {k.with_mistake} with a mistake, "
                f"{k.unparsed} unparsed; location {source}",
            )
        )
    if m.mistakes_by_task:
        blocks.append(
            Table(
                "mistake finding per task",
                [
                    "task",
                    "traces",
                    "exact location",
                    "has a mistake",
                    "location | mistake",
                    "right after backtracking",
                ],
                [
                    [
                        name,
                        str(t.traces),
                        pct(t.exact),
                        pct(t.binary),
                        pct(t.location_given_mistake),
                        pct(t.repaired),
                    ]
                    for name, t in m.mistakes_by_task.items()
                ],
            )
        )
    return blocks


def _errors_table(m: RunMetrics) -> Table | None:
    """Errors introduced, removed, kept and changed per iteration (and injected faults)."""
    rows, faulted = m.errors_by_iteration, m.propagation is not None
    if len(rows) <= 1 and not faulted:
        return None
    columns = ["iteration", "loops", "wrong", "introduced", "removed", "kept", "changed"]
    if faulted:
        columns += ["faulted", "faulted+wrong", "flagged"]
    cells = []
    for row in rows:
        line = [row.iteration, row.loops, row.wrong]
        line += (
            ["", "", "", ""]
            if row.iteration == 0
            else [row.introduced, row.removed, row.kept, row.changed]
        )
        if faulted:
            line += [row.faulted, row.faulted_wrong, row.flagged]
        cells.append([str(c) for c in line])
    return Table(
        "error propagation per iteration (loops that reached it)", columns, cells, FLIP_KINDS_NOTE
    )
