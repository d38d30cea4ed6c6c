"""The repair report in the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from looplab.evals._metrics import FLIPS, RunMetrics
from looplab.evals._stats import Estimate

__all__ = ["print_report"]

_FLIP_NAMES = {"cc": "right→right", "cw": "right→WRONG", "wc": "wrong→RIGHT", "ww": "wrong→wrong"}


def _pct(estimate: Estimate | None) -> str:
    if estimate is None or estimate.value is None:
        return "n/a"
    if estimate.low is None or estimate.high is None:
        return f"{estimate.value:.1%}"
    return f"{estimate.value:.1%} [{estimate.low:.1%}, {estimate.high:.1%}]"


def _num(estimate: Estimate | None) -> str:
    return "n/a" if estimate is None else str(estimate)


def print_report(metrics: RunMetrics, console: Console, *, title: str = "") -> None:
    m = metrics
    console.rule(f"[bold]looplab report[/bold] {title}")
    models = ", ".join(f"{role}: {name}" for role, name in m.models.items())
    console.print(
        f"graph [bold]{m.graph}[/bold] · {m.tasks} tasks × {m.samples} sample(s) · "
        f"{m.results} results, {m.errors} errors · {models}",
        highlight=False,
    )
    if m.oracle:
        console.print(
            "[bold red]ORACLE: ground truth stopped these loops. The numbers are an upper "
            "bound, not self-correction (Huang et al. 2023).[/bold red]"
        )
    if m.perturbations or m.propagation or m.forked_at is not None:
        parts = [f"{kind} ×{n}" for kind, n in m.perturbations.items()]
        if m.propagation:
            parts.append(f"{m.propagation.faults_injected} injected tool faults")
        if m.forked_at is not None:
            parts.append(f"a fork: iterations before {m.forked_at} are the parent's")
        console.print("[bold yellow]PERTURBED:[/bold yellow] " + " · ".join(parts), highlight=False)
    for line in error_lines(m):
        console.print(f"[bold red]{escape(line)}[/bold red]", highlight=False)
    console.print("95% bootstrap confidence intervals over tasks in brackets.", style="dim")

    accuracy = Table(title="accuracy per iteration (a stopped loop keeps its last answer)")
    accuracy.add_column("iteration")
    accuracy.add_column("accuracy")
    for i, estimate in enumerate(m.accuracy):
        accuracy.add_row(str(i), _pct(estimate))
    accuracy.add_row("[bold]final[/bold]", f"[bold]{_pct(m.final_accuracy)}[/bold]")
    console.print(accuracy)

    flips = Table(title="flips: what the loop repaired and what it broke")
    flips.add_column("transition")
    for key in FLIPS:
        flips.add_column(_FLIP_NAMES[key], justify="right")
    for i, counts in enumerate(m.flips):
        flips.add_row(f"{i} → {i + 1}", *(str(counts[k]) for k in FLIPS))
    flips.add_row("[bold]first → final[/bold]", *(str(m.first_to_final[k]) for k in FLIPS))
    console.print(flips)
    console.print(
        f"repair rate (wrong→right / wrong at first): {_pct(m.repair_rate)}   "
        f"damage rate (right→wrong / right at first): {_pct(m.damage_rate)}",
        highlight=False,
    )

    print_propagation(m, console)
    c = m.critic
    if c.judged:
        critic = Table(title=f"the critic against ground truth ({c.judged} judgements)")
        critic.add_column("critic said")
        critic.add_column("answer was right", justify="right")
        critic.add_column("answer was wrong", justify="right")
        for verdict, row in c.confusion.items():
            critic.add_row(verdict, str(row["correct"]), str(row["incorrect"]))
        critic.add_row("(unparsed)", "", str(c.unparsed) + " in all")
        console.print(critic)
        console.print(
            f"verdict accuracy {_pct(c.verdict_accuracy)} · precision of 'incorrect' "
            f"{_pct(c.precision_incorrect)} · recall of 'incorrect' {_pct(c.recall_incorrect)} · "
            f"false alarms on right answers {_pct(c.false_alarm)}\n"
            f"calibration: Brier {_num(c.brier)} · ECE {_num(c.ece)}",
            highlight=False,
        )
        for source, d in c.by_source.items():
            console.print(
                f"confidence ({source}, {d.n} judgements) tells right from wrong answers: "
                f"AUROC {_num(d.auroc)} · AURC {_num(d.aurc)} · accuracy of the most "
                f"confident half {_pct(d.selective_accuracy)} · ECE {_num(d.ece)} · "
                f"Brier {_num(d.brier)}",
                highlight=False,
            )
    if m.pass_at_k:
        console.print(
            "pass@k (unbiased estimator): "
            + " · ".join(f"pass@{k} {_pct(e)}" for k, e in m.pass_at_k.items()),
            highlight=False,
        )
    if m.budgets:
        budget = Table(title="pass@t: solved if cut at t tokens (all roles)")
        budget.add_column("tokens t", justify="right")
        budget.add_column("solved", justify="right")
        for t, share in zip(m.budgets, m.pass_at_budget, strict=True):
            budget.add_row(f"{t:,}", f"{share:.1%}")
        console.print(budget)
    per_solved = f"{m.tokens_per_solved:,.0f}" if m.tokens_per_solved else "n/a (none solved)"
    roles = ", ".join(f"{role} {n:,}" for role, n in m.tokens_by_role.items())
    console.print(
        f"tokens: {m.total_tokens:,} ({roles}) in {m.model_calls:,} model calls · "
        f"tokens per solved task: {per_solved}",
        highlight=False,
    )
    if m.calls_by_server:
        spread = " · ".join(f"{server} {n:,}" for server, n in m.calls_by_server.items())
        console.print(f"model calls per server: {spread}", highlight=False)
    if m.unreported_calls:
        console.print(f"[yellow]{m.unreported_calls} calls reported no token counts[/yellow]")
    if m.tools:
        tools = Table(title="tool use")
        tools.add_column("tool")
        tools.add_column("calls", justify="right")
        tools.add_column("errors", justify="right")
        tools.add_column("what went wrong")
        for name, counts in m.tools.items():
            problems = ", ".join(
                f"{k.split(':', 1)[1]} {v}" for k, v in counts.items() if k.startswith("error:")
            )
            tools.add_row(name, str(counts.get("calls", 0)), str(counts.get("errors", 0)), problems)
        console.print(tools)
    reasons = ", ".join(f"{reason or '?'} {n}" for reason, n in m.stop_reasons.most_common())
    console.print(f"stop reasons: {reasons}", highlight=False)


Section = tuple[list[str], list[list[str]]]
"""A table as (column names, rows of cells), for the terminal and report.html alike."""

FLIP_KINDS_NOTE = (
    "introduced: right→wrong · removed: wrong→right · kept: the same wrong answer again · "
    "changed: another wrong answer"
)


def perturbed_summary(m: RunMetrics) -> str | None:
    """One line saying how the run was perturbed, or None for a plain run."""
    if not (m.perturbations or m.propagation or m.forked_at is not None):
        return None
    parts = [f"{kind} ×{n}" for kind, n in m.perturbations.items()]
    if m.propagation:
        parts.append(f"{m.propagation.faults_injected} injected tool faults")
    if m.forked_at is not None:
        parts.append(f"a fork: iterations before {m.forked_at} are the parent's")
    return " · ".join(parts)


def error_lines(m: RunMetrics, most: int = 5) -> list[str]:
    """Failed tasks grouped by message, with counts (empty when none failed)."""
    if not m.errors:
        return []
    lines = [f"{m.errors} of {m.results} tasks failed:"]
    for message, count in list(m.error_messages.items())[:most]:
        lines.append(f"  {count} × {message[:300]}")
    if len(m.error_messages) > most:
        lines.append(f"  ... and {len(m.error_messages) - most} other messages")
    return lines


def errors_table(m: RunMetrics) -> Section | None:
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
    return columns, cells


def fault_lines(m: RunMetrics) -> list[str]:
    """What became of the injected tool faults (empty without faults)."""
    p = m.propagation
    if p is None:
        return []
    modes = ", ".join(f"{mode} {n}" for mode, n in p.faults_by_mode.items())
    return [
        f"injected tool faults: {p.faults_injected} ({modes}) in {p.faulted_attempts} attempts",
        f"wrong when a fault was injected {_pct(p.wrong_when_faulted)} · "
        f"wrong with clean tool results {_pct(p.wrong_when_clean)}",
        f"answer states the corrupted value {_pct(p.in_answer)} · "
        f"reached the final answer {_pct(p.reached_final)}",
        f"critic flagged faulted wrong answers {_pct(p.flagged)} (clean wrong answers "
        f"{_pct(p.flagged_clean)}) · a repair made it right {_pct(p.removed)}",
    ]


_LOCATION_SOURCES = {
    "found": "found by the critic's model",
    "gold": "GOLD location given (ground truth: an upper bound)",
    "random": "RANDOM location (the control)",
}


def mistake_lines(m: RunMetrics) -> list[str]:
    """Mistake location and backtracking (empty without labelled mistakes)."""
    k = m.mistakes
    if k is None:
        return []
    source = _LOCATION_SOURCES.get(k.location_source, k.location_source)
    return [
        f"mistake finding: {k.traces} traces, {k.with_mistake} with a mistake, {k.unparsed} "
        f"unparsed; location {source}",
        f"exact location {_pct(k.exact)} · has-a-mistake {_pct(k.binary)} · "
        f"location among traces with a mistake {_pct(k.location_given_mistake)}",
        f"backtracking: right after regenerating {_pct(k.repaired)} (location right "
        f"{_pct(k.repaired_when_located)}, location wrong {_pct(k.repaired_when_mislocated)}) "
        f"· right drafts broken {_pct(k.broken)}",
    ]


def mistakes_by_task_table(m: RunMetrics) -> Section | None:
    if not m.mistakes_by_task:
        return None
    columns = ["task", "traces", "exact location", "has a mistake", "location | mistake",
               "right after backtracking"]  # fmt: skip
    rows = [
        [name, str(t.traces), _pct(t.exact), _pct(t.binary), _pct(t.location_given_mistake),
         _pct(t.repaired)]
        for name, t in m.mistakes_by_task.items()
    ]  # fmt: skip
    return columns, rows


def _print_table(console: Console, title: str, section: Section | None) -> None:
    if section is None:
        return
    columns, rows = section
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="left" if column == "task" else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def print_propagation(m: RunMetrics, console: Console) -> None:
    """The error-propagation section: per-iteration errors, injected faults, mistake finding."""
    errors = errors_table(m)
    _print_table(console, "error propagation per iteration (loops that reached it)", errors)
    if errors is not None:
        console.print(FLIP_KINDS_NOTE, style="dim")
    for lines in (fault_lines(m), mistake_lines(m)):
        if lines:
            console.print(f"[bold]{lines[0]}[/bold]", highlight=False)
            for line in lines[1:]:
                console.print("  " + line, highlight=False)
    _print_table(console, "mistake finding per task", mistakes_by_task_table(m))
