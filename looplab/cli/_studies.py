"""``looplab study NAME``: the published self-correction protocols, one command each."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from looplab.cli import _options as o
from looplab.cli._app import app, cli_command, err, out, split_list
from looplab.files import check_writable, write_file


def _study_names() -> list[str]:
    from looplab.studies import study_catalog

    return list(study_catalog())


def _feedback_arms() -> list[str]:
    from looplab.studies import FEEDBACK_ARMS

    return list(FEEDBACK_ARMS)


def _default_limits() -> str:
    from looplab.studies import STUDIES, CalibrationOptions, VerifierStudyOptions

    limits = {name: s.default_limit for name, s in STUDIES.items()}
    limits["calibration"] = CalibrationOptions().limit
    limits["verifier"] = VerifierStudyOptions().limit
    return ", ".join(f"{name} {limit}" for name, limit in limits.items())


@app.command()
@cli_command
def study(
    name: Annotated[
        str,
        typer.Argument(
            help=f"One of {', '.join(_study_names())} (or 'list')."
        ),
    ],
    model: o.Model = o.DEFAULTS.model,
    critic_model: Annotated[str | None, typer.Option(help="Critic model spec.")] = None,
    limit: Annotated[
        int | None,
        typer.Option(min=1, help=f"Tasks (per BIG-Bench task for mistake-finding); default: "
                     f"{_default_limits()}."),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(help="Folder with gsm8k/ and big-bench-mistake/ (default $LOOPLAB_DATA "
                     "or ../shared/data)."),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(min=1, help="self-repair: programs per task; mistake-finding: "
                     "backtracking samples; calibration: sampled answers; verifier: samples "
                     "per task (default 4)."),
    ] = None,
    repairs: Annotated[
        int | None, typer.Option(min=0, help="self-repair: repairs per failing program.")
    ] = None,
    finder_style: Annotated[
        str, typer.Option(help="mistake-finding: trace, step or cot-step.")
    ] = "trace",
    tasks: Annotated[
        str | None,
        typer.Option(
            help="compute, feedback: the task set (default arithmetic); browsing: "
            "browse[:n=N,seed=S]."
        ),
    ] = None,
    arms: Annotated[
        str | None,
        typer.Option(
            help=f"feedback: the arms, of {', '.join(_feedback_arms())} (default: all but "
            "critic-calculator; +ARM adds to the default)."
        ),
    ] = None,
    max_iters: Annotated[
        int | None,
        typer.Option(min=1, help="feedback: attempts per task, the first and its repairs "
                     "(default 2)."),
    ] = None,
    budgets: Annotated[
        str, typer.Option(help="compute: compute levels in answers per task, e.g. 3,5.")
    ] = "3,5",
    temperature: Annotated[
        float, typer.Option(min=0.0, max=2.0, help="compute, verifier: sampling temperature.")
    ] = 0.7,
    verifier: Annotated[
        str | None,
        typer.Option(help="compute: a verifier file (looplab verifier train); adds "
                     "best_of_n ranked by it at each level."),
    ] = None,
    concurrency: o.Concurrency = o.DEFAULTS.concurrency,
    run_dir: Annotated[
        str | None, typer.Option(help="The study's folder (run again to resume).")
    ] = None,
) -> None:  # fmt: skip
    """Run a classic study into a folder of ordinary runs and print its summary."""
    from looplab.cli._evals import run_with_progress
    from looplab.errors import ConfigError
    from looplab.report import Table, print_blocks, write_report
    from looplab.studies import StudyOptions, default_data_dir, run_study, study_catalog

    if name == "list":
        rows = [[n, paper, about] for n, (paper, about) in study_catalog().items()]
        print_blocks([Table("studies", ["name", "paper", "protocol"], rows)], out)
        return
    if name not in study_catalog():
        raise ConfigError(f"unknown study {name!r}: use one of {', '.join(study_catalog())}")
    if name == "calibration":
        _calibration(model, limit, data, samples, run_dir, concurrency)
        return
    if name == "verifier":
        _verifier_study(model, limit, samples, temperature, run_dir)
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
        arms=tuple(split_list(arms)) or None,
        max_iters=max_iters,
        verifier=verifier,
    )
    target = run_dir or f"runs/study-{name}"
    check_writable(target, "--run-dir", folder=True)

    # the study command resumes a study (each arm's own --resume would leave the rest)
    again = shlex.join(["looplab", *sys.argv[1:]])
    if run_dir is None:
        again += f" --run-dir {shlex.quote(target)}"

    def run_arm(arm, config, arm_dir, resume, labels):
        err.print(Text.assemble((name, "bold"), " · arm ", (arm, "bold"), f" → {arm_dir}"))
        run_with_progress(
            config,
            str(arm_dir),
            resume=resume,
            report=False,
            resume_command=again,
            labels=labels,
        )

    try:
        found, tables, root = run_study(name, options, target, run_arm=run_arm, command=again)
    except KeyboardInterrupt:  # between arms: every finished arm and result is saved
        err.print(f"interrupted: the arms' results so far are saved; finish with: {again}")
        raise typer.Exit(130) from None
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


def _verifier_study(
    model: str, limit: int | None, samples: int | None, temperature: float, run_dir: str | None
) -> None:
    """The verifier study: its three arms (progress as runs), scoring, the tables."""
    from rich.progress import Progress

    from looplab.cli._evals import run_with_progress
    from looplab.report import print_blocks
    from looplab.studies import VERIFIER_STUDY, VerifierStudyOptions, run_verifier_study

    options = VerifierStudyOptions(
        model=model,
        temperature=temperature,
        **({"limit": limit} if limit else {}),
        **({"samples": samples} if samples else {}),
    )
    target = run_dir or "runs/study-verifier"
    again = shlex.join(["looplab", *sys.argv[1:]])
    if run_dir is None:
        again += f" --run-dir {shlex.quote(target)}"

    def run_arm(arm, config, arm_dir, resume):
        err.print(Text.assemble(("verifier", "bold"), " · arm ", (arm, "bold"), f" → {arm_dir}"))
        labels = {"study": "verifier", "arm": arm, "shown": arm, "command": again}
        run_with_progress(
            config, str(arm_dir), resume=resume, report=False, resume_command=again, labels=labels
        )

    try:
        with Progress(console=err, transient=True) as progress:
            bar = progress.add_task("scoring the test samples", total=None)

            def step(done: int, total: int) -> None:
                progress.update(bar, completed=done, total=total)

            tables, root = run_verifier_study(options, target, run_arm=run_arm, on_task=step)
    except KeyboardInterrupt:
        err.print(f"interrupted: everything finished so far is saved; finish with: {again}")
        raise typer.Exit(130) from None
    out.rule(Text.assemble(("verifier", "bold"), f" · {VERIFIER_STUDY[0]}"))
    print_blocks(tables, out)
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
    check_writable(target, "--run-dir", folder=True)
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
