"""``looplab export``: a run as training data or as an inspect_ai log."""

from __future__ import annotations

from typing import Annotated

import typer

from looplab.cli._app import app, cli_command, err, out


@app.command()
@cli_command
def export(
    run_dir: Annotated[str, typer.Argument(help="A run directory.")],
    kind: Annotated[
        str, typer.Option("--as", help="sft, dpo, critic, repairs (JSON lines) or inspect.")
    ],
    to: Annotated[
        str | None,
        typer.Option("--out", help="Output file (default RUN_DIR/export-KIND/KIND.jsonl)."),
    ] = None,
    sft: Annotated[
        str, typer.Option(help="sft: right answers at the first attempt, repaired, or both.")
    ] = "both",
    pairs: Annotated[
        str, typer.Option(help="dpo: pair right and wrong attempts one to one (zip) or all.")
    ] = "zip",
    judged_only: Annotated[
        bool, typer.Option(help="critic: only attempts a model critic judged.")
    ] = False,
    include_oracle: Annotated[
        bool, typer.Option(help="Keep results ground truth steered (marked).")
    ] = False,
    include_perturbed: Annotated[
        bool, typer.Option(help="Keep results made under a perturbation (marked).")
    ] = False,
    dedup: Annotated[bool, typer.Option(help="Drop records seen before.")] = True,
    tasks: Annotated[
        str | None, typer.Option(help="The run's task set, if its manifest's no longer loads.")
    ] = None,
) -> None:
    """Export a run: training data with a dataset card, or an inspect_ai eval log."""
    from looplab.exports import ExportOptions, export_run
    from looplab.files import check_writable

    if to is not None:
        check_writable(to, "--out")
    options = ExportOptions(
        sft=sft,
        pairs=pairs,
        judged_only=judged_only,
        include_oracle=include_oracle,
        include_perturbed=include_perturbed,
        dedup=dedup,
    )
    summary = export_run(run_dir, kind, to, options=options, tasks=tasks)
    said = [f"{summary.records} {kind} records"]
    if summary.duplicates:
        said.append(f"{summary.duplicates} duplicates dropped")
    for why, n in sorted(summary.left_out.items()):
        keep = {"oracle": " (--include-oracle keeps them)",
                "perturbed": " (--include-perturbed keeps them)"}.get(why, "")  # fmt: skip
        said.append(f"{n} {why} results left out{keep}")
    err.print(", ".join(said), highlight=False)
    out.print(str(summary.path), highlight=False)
    if summary.card is not None:
        out.print(str(summary.card), highlight=False)
