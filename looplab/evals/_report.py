"""The repair report in the terminal."""

from __future__ import annotations

from rich.console import Console
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
