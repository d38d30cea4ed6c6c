"""The ``looplab`` command line.

Every command turns a ``LooplabError`` into one line on stderr and a non-zero
exit code: bad input never shows a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from looplab.errors import LooplabError

app = typer.Typer(
    name="looplab",
    help="Study LLM critique loops: generator, critic and tools, measured honestly.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

out = Console(soft_wrap=True)  # long lines stay whole (paths, p-values)
err = Console(stderr=True, soft_wrap=True)  # an error stays one line, however long

EXIT_ERROR = 2
"""Exit code for bad input or a failed backend (typer uses 2 for usage errors too)."""

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def _one_line_errors() -> Iterator[None]:
    try:
        yield
    except LooplabError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(EXIT_ERROR) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None


def cli_command(func: F) -> F:
    """Wrap a command so that looplab's errors end it with one line, no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _one_line_errors():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Model spec: local, gguf:PATH, openai:MODEL[@BASE_URL], replay:RUN_DIR[#MODEL].",
    ),
]


@app.command()
@cli_command
def doctor() -> None:
    """Report which model backends, weights and sandbox engines are usable here."""
    from looplab._doctor import run_checks

    checks = run_checks()
    table = Table(title="looplab doctor", show_lines=False)
    for column in ("component", "status", "detail", "to fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        status = "[green]ok[/green]" if check.ok else "[red]missing[/red]"
        table.add_row(check.component, status, check.detail, check.hint)
    out.print(table)
    if not all(c.ok for c in checks if c.required):
        raise typer.Exit(1)


@app.command()
@cli_command
def ask(
    prompt: Annotated[str, typer.Argument(help="The user message.")],
    model: ModelOption = "local",
    system: Annotated[str | None, typer.Option(help="A system message.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Cap on generated tokens.")] = 256,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0)] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = None,
    record: Annotated[
        str | None, typer.Option(help="Append the completion to this recording (dir or .jsonl).")
    ] = None,
) -> None:
    """Stream one completion of PROMPT from a model."""
    from looplab.llm import CompletionOptions, Message, RecordingModel, load_model

    chat = load_model(model)
    if record:
        chat = RecordingModel(chat, record)
    messages = [Message(role="system", content=system)] if system else []
    messages.append(Message(role="user", content=prompt))
    options = CompletionOptions(max_tokens=max_tokens, temperature=temperature, seed=seed)

    def show(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    completion = chat.complete(messages, options, on_text=show)
    sys.stdout.write("\n")
    u = completion.usage
    err.print(
        f"[dim]{completion.model}: {u.prompt_tokens} prompt + {u.completion_tokens} completion "
        f"tokens, {u.latency_s:.2f} s, finish={completion.finish_reason}[/dim]",
        highlight=False,
    )


@app.command("tools")
@cli_command
def list_tools() -> None:
    """List the built-in tools and how the model calls them."""
    from looplab.tools import BUILTIN_TOOLS, TagSyntax

    syntax = TagSyntax()
    table = Table(title="looplab tools")
    for column in ("name", "call", "description"):
        table.add_column(column, overflow="fold")
    for name, factory in BUILTIN_TOOLS.items():
        tool = factory()
        table.add_row(name, syntax.render_call(name, "..."), tool.description)
    out.print(table)


@app.command("tool")
@cli_command
def run_tool(
    name: Annotated[str, typer.Argument(help="Tool name, e.g. calc or browse.")],
    text: Annotated[str, typer.Argument(help="The input, exactly as a model would write it.")],
    allow: Annotated[
        list[str] | None,
        typer.Option(help="browse: an IP or network[:port] to allow though not public."),
    ] = None,
) -> None:
    """Run one tool on one input, as a model's call would: result on stdout (exit 0),
    error on stderr (exit 1)."""
    from looplab.tools import Browser, make_tools

    tool = make_tools([name])[name]
    if allow and name == "browse":
        tool = Browser(allow=allow)
    result = tool.run(text)
    if result.ok:
        sys.stdout.write(result.output + "\n")
        return
    err.print(f"[red]{name} error:[/red] {result.error}", highlight=False)
    raise typer.Exit(1)


def _split(values: str | None) -> list[str]:
    return [v.strip() for v in (values or "").split(",") if v.strip()]


@app.command()
@cli_command
def run(
    prompt: Annotated[str, typer.Argument(help="The task to solve.")],
    graph: Annotated[
        str, typer.Option(help="A prebuilt graph (looplab graph list) or FILE.py:FUNCTION.")
    ] = "critic_loop",
    model: ModelOption = "local",
    critic_model: Annotated[
        str | None, typer.Option(help="The critic's model spec (default: --model).")
    ] = None,
    tools: Annotated[str | None, typer.Option(help="Generator tools, e.g. calc,python.")] = None,
    critic_tools: Annotated[
        str | None, typer.Option(help="Critic tools (tool_critic defaults to calc).")
    ] = None,
    max_iters: Annotated[int, typer.Option(min=1, help="Most attempts.")] = 3,
    max_tokens: Annotated[int, typer.Option(min=1, help="Tokens per answer.")] = 256,
    family: Annotated[
        str, typer.Option(help="Answer convention: math-like ('Answer: X') or code.")
    ] = "math",
    tests: Annotated[
        str | None, typer.Option(help="test_repair: a file of visible tests, check(candidate).")
    ] = None,
    entry_point: Annotated[str | None, typer.Option(help="test_repair: function name.")] = None,
    save: Annotated[str | None, typer.Option(help="Write the trajectory as JSON here.")] = None,
) -> None:
    """Run a critique loop on PROMPT and watch each step as it happens."""
    from pathlib import Path

    from looplab._watch import LoopPrinter
    from looplab.errors import ConfigError
    from looplab.graphs import SetupOptions, build_setup, stream_loop
    from looplab.records import TaskView

    visible = None
    if tests is not None:
        if not Path(tests).is_file():
            raise ConfigError(f"no tests file {tests}")
        visible = Path(tests).read_text(encoding="utf-8")
    options = SetupOptions(
        graph=graph,
        model=model,
        critic_model=critic_model,
        tools=_split(tools),
        critic_tools=_split(critic_tools),
        max_iters=max_iters,
        max_tokens=max_tokens,
    )
    name, factory, setup = build_setup(options)
    task = TaskView(
        id="prompt", prompt=prompt, family=family, visible_tests=visible, entry_point=entry_point
    )
    printer = LoopPrinter(out)
    trajectory = None
    for kind, payload in stream_loop(factory(setup), task):
        if kind == "event":
            printer(payload)
        else:
            trajectory = payload
    assert trajectory is not None
    final = trajectory.final
    u = trajectory.usage
    out.print()
    out.rule("[bold]result[/bold]", align="left")
    out.print(
        f"graph {name}: {len(trajectory.attempts)} attempt(s), stop: {trajectory.stop_reason}; "
        f"final answer: {final.answer if final else None!r}; "
        f"{u.prompt_tokens} prompt + {u.completion_tokens} completion tokens in {u.calls} calls",
        highlight=False,
    )
    if save:
        Path(save).write_text(trajectory.model_dump_json(indent=2), encoding="utf-8")
        out.print(f"trajectory saved to {save}")


graph_app = typer.Typer(help="The prebuilt graphs.")
app.add_typer(graph_app, name="graph")


@graph_app.command("list")
@cli_command
def graph_list() -> None:
    """List the prebuilt graphs and the paper each follows."""
    from looplab.graphs import GRAPHS

    table = Table(title="looplab graphs")
    table.add_column("name")
    table.add_column("what it is", overflow="fold")
    for name, factory in GRAPHS.items():
        table.add_row(name, (factory.__doc__ or "").strip().splitlines()[0])
    out.print(table)


@graph_app.command("show")
@cli_command
def graph_show(
    name: Annotated[str, typer.Argument(help="A prebuilt graph or FILE.py:FUNCTION.")],
) -> None:
    """Print a graph's Mermaid diagram (as LangGraph draws it)."""
    from looplab.agents import Critic, Generator
    from looplab.graphs import LoopSetup, load_graph_factory
    from looplab.sandbox import ProcessSandbox
    from looplab.tools import Calculator

    _, factory = load_graph_factory(name)
    model = _DrawingOnly()
    setup = LoopSetup(
        generator=Generator(model),
        critic=Critic(model, tools=[Calculator()]),
        sandbox=ProcessSandbox(),
    )
    sys.stdout.write(factory(setup).get_graph().draw_mermaid())


@app.command("eval")
@cli_command
def eval_(
    tasks: Annotated[
        str, typer.Option(help="Task set: arithmetic[:k=v,..], code[:..], humaneval, jsonl:PATH.")
    ] = "arithmetic",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N tasks.")] = None,
    graph: Annotated[
        str, typer.Option(help="A prebuilt graph or FILE.py:FUNCTION.")
    ] = "critic_loop",
    model: ModelOption = "local",
    critic_model: Annotated[str | None, typer.Option(help="Critic model spec.")] = None,
    tools: Annotated[str | None, typer.Option(help="Generator tools, e.g. calc.")] = None,
    critic_tools: Annotated[str | None, typer.Option(help="Critic tools.")] = None,
    max_iters: Annotated[int, typer.Option(min=1, help="Most attempts per task.")] = 3,
    max_tokens: Annotated[int, typer.Option(min=1, help="Tokens per answer.")] = 200,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0)] = 0.0,
    samples: Annotated[int, typer.Option(min=1, help="Runs per task (for pass@k).")] = 1,
    seed: Annotated[int, typer.Option(help="Base seed (per-task seeds derive from it).")] = 0,
    concurrency: Annotated[int, typer.Option(min=1, help="Tasks in flight at once.")] = 4,
    sandbox: Annotated[str, typer.Option(help="Sandbox backend for code.")] = "auto",
    oracle: Annotated[
        bool, typer.Option(help="Let ground truth stop loops (an upper bound; marked).")
    ] = False,
    run_dir: Annotated[str | None, typer.Option(help="Where the run goes.")] = None,
    resume: Annotated[
        str | None, typer.Option(help="Finish the run in this directory (other options ignored).")
    ] = None,
) -> None:
    """Measure repair on a task set; print the report and write report.html."""
    from datetime import datetime

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from looplab.evals import EvalConfig, TaskResult, run_eval

    config = None
    if resume is None:
        config = EvalConfig(
            tasks=tasks,
            limit=limit,
            graph=graph,
            model=model,
            critic_model=critic_model,
            tools=_split(tools),
            critic_tools=_split(critic_tools),
            max_iters=max_iters,
            max_tokens=max_tokens,
            temperature=temperature,
            samples=samples,
            seed=seed,
            concurrency=concurrency,
            sandbox=sandbox,
            oracle=oracle,
        )
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = run_dir or f"runs/{stamp}-{graph.replace('/', '_').replace(':', '_')}"
    else:
        target = resume
    stats = {"right": 0, "done": 0, "tokens": 0, "errors": 0}
    bar = Progress(
        TextColumn("[bold]eval[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=err,
    )
    job = bar.add_task("eval", total=None, status="")

    def on_start(done: int, total: int) -> None:
        bar.start()  # only once the run is set up: a bad option stays a one-line error
        bar.update(job, completed=done, total=total)
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
        bar.update(job, completed=done, status=status)

    def on_interrupt(done: int, total: int) -> None:
        bar.stop()
        err.print(
            f"interrupted: {done} of {total} results are saved; "
            f"finish with: looplab eval --resume {target}"
        )

    try:
        path = run_eval(
            config,
            target,
            resume=resume is not None,
            progress=on_result,
            on_start=on_start,
            on_interrupt=on_interrupt,
        )
    finally:
        bar.stop()
    _report(str(path))


def _report(run_dir: str) -> None:
    from looplab.evals import write_report
    from looplab.evals._report import print_report

    metrics, page = write_report(run_dir)
    print_report(metrics, out, title=run_dir)
    out.print(f"report: {page}")


@app.command()
@cli_command
def report(
    run_dir: Annotated[str, typer.Argument(help="A run directory.")],
    csv: Annotated[str | None, typer.Option(help="Also write one row per attempt here.")] = None,
) -> None:
    """Print a run's repair report; write its plots and report.html."""
    _report(run_dir)
    if csv:
        from looplab.evals import read_results, write_csv

        write_csv(read_results(run_dir), csv)
        out.print(f"csv: {csv}")


@app.command()
@cli_command
def compare(
    run_a: Annotated[str, typer.Argument(help="The baseline run.")],
    run_b: Annotated[str, typer.Argument(help="The run compared with it.")],
) -> None:
    """Compare two runs task by task: McNemar's exact test and a paired bootstrap."""
    from looplab.evals import compare_results, read_results

    c = compare_results(read_results(run_a), read_results(run_b))
    out.print(f"A = {run_a}\nB = {run_b}\n{c.pairs} paired tasks", highlight=False)
    table = Table()
    table.add_column("")
    table.add_column("A", justify="right")
    table.add_column("B", justify="right")
    table.add_row("accuracy", f"{c.accuracy_a:.1%}", f"{c.accuracy_b:.1%}")
    table.add_row("tokens", f"{c.tokens_a:,}", f"{c.tokens_b:,}")
    out.print(table)
    out.print(
        f"both right {c.both} · only A {c.only_a} · only B {c.only_b} · neither {c.neither}\n"
        f"B − A = {c.difference} (paired bootstrap 95% CI) · McNemar exact p = {c.p_value:.4f}",
        highlight=False,
    )


tasks_app = typer.Typer(help="Task sets: list, show, check reference solutions.")
app.add_typer(tasks_app, name="tasks")


@tasks_app.command("list")
@cli_command
def tasks_list() -> None:
    """List the task sets."""
    from looplab.evals import TASK_SETS

    table = Table(title="task sets")
    table.add_column("spec")
    table.add_column("what", overflow="fold")
    for name, (about, _) in TASK_SETS.items():
        table.add_row(name, about)
    table.add_row("jsonl:PATH", "your own tasks, one JSON object per line (see README)")
    out.print(table)


@tasks_app.command("show")
@cli_command
def tasks_show(
    spec: Annotated[str, typer.Argument(help="A task set spec.")],
    limit: Annotated[int, typer.Option(min=1)] = 3,
) -> None:
    """Print the first tasks of a set, with their ground truth."""
    from looplab.evals import load_tasks

    for task in load_tasks(spec, limit=limit):
        out.rule(f"{task.id} ({task.family})", align="left")
        sys.stdout.write(task.prompt.rstrip("\n") + "\n")
        if task.answer is not None:
            out.print(f"[dim]answer:[/dim] {task.answer}", highlight=False)
        if task.visible_tests:
            out.print("[dim]visible tests:[/dim]")
            sys.stdout.write(task.visible_tests)
        if task.hidden_tests:
            lines = task.hidden_tests.strip().count("\n") + 1
            out.print(f"[dim]hidden tests: {lines} lines (grading only)[/dim]")


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
) -> None:
    """Grade each task's reference solution (or a file of solutions) with its own checker."""
    from looplab.evals._check import check_tasks

    verdicts = check_tasks(
        spec, solutions=solutions, sandbox=sandbox, limit=limit, json_out=json_out
    )
    for verdict in verdicts:
        mark = "[green]passed[/green]" if verdict["passed"] else f"[red]{verdict['result']}[/red]"
        out.print(f"{verdict['task_id']}: {mark}", highlight=False)
    passed = sum(v["passed"] for v in verdicts)
    out.print(f"[bold]{passed} of {len(verdicts)} passed ({passed / len(verdicts):.1%})[/bold]")
    if json_out:
        out.print(f"verdicts: {json_out}")
    if passed != len(verdicts) and solutions is None:
        raise typer.Exit(1)


class _DrawingOnly:
    """Stands in for a model while a graph is only drawn: building one calls no model."""

    name = "diagram"
    supports_continuation = True

    def complete(self, *args: Any, **kwargs: Any) -> Any:
        raise LooplabError("a graph being drawn called its model")

    acomplete = complete


sandbox_app = typer.Typer(help="Run code in the sandbox; build its image offline.")
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("run")
@cli_command
def sandbox_run(
    file: Annotated[
        str | None, typer.Argument(help="A Python file to run ('-' for stdin).")
    ] = None,
    code: Annotated[str | None, typer.Option("-c", help="Python code to run.")] = None,
    backend: Annotated[
        str, typer.Option(help="auto, docker, bubblewrap or process (unisolated).")
    ] = "auto",
    timeout: Annotated[float, typer.Option(min=0.1, help="Wall-clock limit, seconds.")] = 10.0,
    memory_mb: Annotated[int, typer.Option(min=16, help="Memory limit, MB.")] = 512,
    image: Annotated[str | None, typer.Option(help="Docker image.")] = None,
) -> None:
    """Run a program in a sandbox and print its ExecResult."""
    from pathlib import Path

    from looplab.errors import ConfigError
    from looplab.sandbox import Limits, make_sandbox

    if (file is None) == (code is None):
        raise ConfigError("give a FILE or -c CODE (one of them)")
    if code is None:
        path = Path(file or "-")
        if file == "-":
            code = sys.stdin.read()
        elif not path.is_file():
            raise ConfigError(f"no file {file}")
        else:
            code = path.read_text(encoding="utf-8", errors="replace")
    sandbox = make_sandbox(backend, image=image)
    try:
        result = sandbox.run(code, limits=Limits(timeout_s=timeout, memory_mb=memory_mb))
    finally:
        sandbox.close()
    if result.stdout:
        out.print("[bold]stdout[/bold]")
        sys.stdout.write(result.stdout if result.stdout.endswith("\n") else result.stdout + "\n")
    if result.stderr:
        out.print("[bold]stderr[/bold]")
        sys.stdout.write(result.stderr if result.stderr.endswith("\n") else result.stderr + "\n")
    out.print(f"[bold]{result.isolation}[/bold]: {result.summary()}", highlight=False)
    if not result.ok:
        raise typer.Exit(1)


@sandbox_app.command("build-image")
@cli_command
def sandbox_build_image(
    tag: Annotated[str, typer.Option(help="Image tag.")] = "looplab-sandbox:bookworm",
    mirror: Annotated[str, typer.Option(help="Debian mirror.")] = "http://deb.debian.org/debian",
) -> None:
    """Build a sandbox image with no registry: debootstrap a rootfs, docker import it."""
    from looplab.sandbox import build_image

    built = build_image(tag, mirror=mirror, log=lambda line: err.print(f"[dim]{line}[/dim]"))
    out.print(f"built {built}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
