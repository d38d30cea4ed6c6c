"""``looplab study NAME``: the published self-correction protocols, one command each."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from looplab.cli import _options as o
from looplab.cli._app import app, cli_command, err, out
from looplab.files import write_file


@app.command()
@cli_command
def study(
    name: Annotated[
        str,
        typer.Argument(
            help="feedback, compute, intrinsic-self-correction, self-repair, "
            "mistake-finding, calibration (or 'list')."
        ),
    ],
    model: o.Model = o.DEFAULTS.model,
    critic_model: Annotated[str | None, typer.Option(help="Critic model spec.")] = None,
    limit: Annotated[
        int | None,
        typer.Option(min=1, help="Tasks (per BIG-Bench task for mistake-finding)."),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(help="Folder with gsm8k/ and big-bench-mistake/ (default $LOOPLAB_DATA "
                     "or ../shared/data)."),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(min=1, help="self-repair: programs per task; mistake-finding: "
                     "backtracking samples; calibration: sampled answers."),
    ] = None,
    repairs: Annotated[
        int | None, typer.Option(min=0, help="self-repair: repairs per failing program.")
    ] = None,
    finder_style: Annotated[
        str, typer.Option(help="mistake-finding: trace, step or cot-step.")
    ] = "trace",
    tasks: Annotated[
        str | None, typer.Option(help="compute, feedback: the task set (default arithmetic).")
    ] = None,
    budgets: Annotated[
        str, typer.Option(help="compute: compute levels in answers per task, e.g. 3,5.")
    ] = "3,5",
    temperature: Annotated[
        float, typer.Option(min=0.0, max=2.0, help="compute: sampling temperature.")
    ] = 0.7,
    concurrency: Annotated[int, typer.Option(min=1)] = 4,
    run_dir: Annotated[
        str | None, typer.Option(help="The study's folder (run again to resume).")
    ] = None,
) -> None:  # fmt: skip
    """Run a classic study into a folder of ordinary runs and print its summary."""
    from looplab.cli._evals import run_with_progress
    from looplab.report import Table, print_blocks, write_report
    from looplab.studies import STUDIES, StudyOptions, default_data_dir, run_study

    if name == "list":
        rows = [[s.name, s.paper, s.about] for s in STUDIES.values()]
        rows.append(
            [
                "calibration",
                "Kadavath et al. 2022",
                "the model answers; verbal, P(True), P(True) with samples, answer "
                "log-probability and self-consistency score its answers; AUROC, "
                "risk-coverage and ECE per source",
            ]
        )
        print_blocks([Table("studies", ["name", "paper", "protocol"], rows)], out)
        return
    if name == "calibration":
        _calibration(model, limit, data, samples, run_dir, concurrency)
        return
    options = StudyOptions(
        model=model,
        critic_model=critic_model,
        limit=limit,
        data=Path(data) if data else default_data_dir(),
        samples=samples,
        repairs=repairs,
        finder_style=finder_style,
        concurrency=concurrency,
        tasks=tasks,
        budgets=_levels(budgets),
        temperature=temperature,
    )
    target = run_dir or f"runs/study-{name}"

    def run_arm(arm, config, arm_dir, resume):
        err.print(Text.assemble((name, "bold"), " · arm ", (arm, "bold"), f" → {arm_dir}"))
        run_with_progress(config, str(arm_dir), resume=resume, report=False)

    found, tables, root = run_study(name, options, target, run_arm=run_arm)
    # Each arm's full report is in its report.html (and `looplab report ARM`); printed
    # here, the arms' reports would bury the study's own comparison.
    for arm_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        _, page = write_report(str(arm_dir))
        err.print(f"report: {page}", highlight=False)
    out.rule(Text.assemble((found.name, "bold"), f" · {found.paper}"))
    print_blocks(tables, out)
    for figure in sorted(root.glob("*.png")):
        out.print(f"figure: {figure}")
    out.print(f"study: {root}/study.json")


def _calibration(
    model: str,
    limit: int | None,
    data: str | None,
    samples: int | None,
    run_dir: str | None,
    concurrency: int,
) -> None:
    """The calibration study: score, resume, print the table, draw the figure."""
    import json

    from rich.progress import Progress

    from looplab.report import Table, Text, print_blocks
    from looplab.studies import (
        CalibrationOptions,
        calibration_summary,
        calibration_tables,
        default_data_dir,
        run_calibration,
        write_calibration_figure,
    )

    folder = Path(data) if data else default_data_dir()
    options = CalibrationOptions(
        model=model,
        data=folder if (folder / "gsm8k").exists() else None,
        **({"limit": limit} if limit else {}),
        **({"samples": samples} if samples else {}),
        concurrency=concurrency,
    )
    if options.data is None:
        err.print(f"no gsm8k under {folder}: arithmetic only", style="yellow")
    target = Path(run_dir or "runs/study-calibration")
    with Progress(console=err, transient=True) as progress:
        bar = progress.add_task("calibration", total=None)

        def step(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total)

        records, root = run_calibration(options, target, on_task=step)
    rows = calibration_tables(records, options.sources)
    figure = write_calibration_figure(records, root, options.sources)
    write_file(root / "study.json", json.dumps(calibration_summary(records, rows), indent=2))
    out.rule(Text.assemble(("calibration", "bold"), " · Kadavath et al. 2022"))
    tables = []
    for family in dict.fromkeys(row.family for row in rows):
        graded = [r["correct"] for r in records if family in ("all", r["family"])]
        tables.append(
            Table(
                f"{family}: {sum(graded)} of {len(graded)} answers right (95% CIs over tasks)",
                [
                    "source",
                    "scored",
                    "AUROC",
                    "AURC (lower better)",
                    "accuracy at 50% coverage",
                    "ECE",
                    "Brier",
                    "tokens/task",
                ],
                [
                    [
                        row.source,
                        str(row.metrics.n),
                        str(row.metrics.auroc),
                        str(row.metrics.aurc),
                        str(row.metrics.selective_accuracy),
                        str(row.metrics.ece),
                        str(row.metrics.brier),
                        f"{row.tokens:.0f}",
                    ]
                    for row in rows
                    if row.family == family
                ],
            )
        )
    tables.append(
        Text(
            [
                "AUROC 0.5 is no information; tokens/task is what the confidence cost on top of "
                "the answer."
            ],
            tone="note",
        )
    )
    print_blocks(tables, out)
    out.print(f"figure: {figure}")
    out.print(f"study: {root}/study.json")


def _levels(text: str) -> tuple[int, ...]:
    from looplab.errors import ConfigError

    try:
        levels = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"--budgets {text!r}: give whole numbers, e.g. 3,5") from None
    if not levels or min(levels) < 1:
        raise ConfigError(f"--budgets {text!r}: give numbers of answers >= 1, e.g. 3,5")
    return levels
