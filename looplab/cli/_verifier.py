"""``looplab verifier``: train a learned verifier on runs, show one, list its features."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from looplab.cli._app import HELP_OPTIONS, app, cli_command, err, out

verifier_app = typer.Typer(
    help="Learned verifiers: a probe on graded answers' features, cross-fitted by task.",
    context_settings=HELP_OPTIONS,
)
app.add_typer(verifier_app, name="verifier")


def _features_help() -> str:
    from looplab.agents import VERIFIER_FEATURES

    return "Comma-separated, of: " + ", ".join(VERIFIER_FEATURES) + " (default: all)."


@verifier_app.command("train")
@cli_command
def verifier_train(
    runs: Annotated[
        list[str], typer.Argument(help="Run directories whose graded answers train it.")
    ],
    to: Annotated[str, typer.Option("--out", help="The verifier file to write (JSON).")],
    features: Annotated[str | None, typer.Option(help=_features_help())] = None,
    folds: Annotated[int, typer.Option(min=2, help="Cross-fitting folds of tasks.")] = 5,
    model: Annotated[
        str | None,
        typer.Option(help="Whose hidden states to read (default: the runs' generator)."),
    ] = None,
) -> None:
    """Fit a verifier on runs' graded attempts; print its held-out AUROC. Use it with
    --critic-confidence learned:FILE (best_of_n then ranks samples by it)."""
    from looplab.agents import DEFAULT_FEATURES, check_features
    from looplab.files import check_writable, write_file
    from looplab.llm import load_model
    from looplab.verifiers import fit_verifier, training_examples

    check_writable(to, "--out")
    chosen = check_features(
        DEFAULT_FEATURES if features is None else [f.strip() for f in features.split(",")]
    )
    reader = load_model(model) if model is not None and "hidden" in chosen else None

    def progress(done: int, total: int) -> None:
        if done == total or done % 50 == 0:
            err.print(f"features: {done}/{total} answers", highlight=False)

    examples = training_examples(runs, chosen, model=reader, on_answer=progress)
    fitted = fit_verifier(examples, folds=folds)
    write_file(to, fitted.verifier.model_dump_json(indent=1))
    rows = examples.save(features_path(to))
    _print_summary(fitted.verifier)
    out.print(to, highlight=False)
    out.print(str(rows), highlight=False)


@verifier_app.command("show")
@cli_command
def verifier_show(path: Annotated[str, typer.Argument(help="A verifier file.")]) -> None:
    """What a verifier reads, what it was trained on, and its held-out AUROC."""
    from looplab.agents import load_verifier

    _print_summary(load_verifier(path))


@verifier_app.command("features")
@cli_command
def verifier_features() -> None:
    """The features a verifier can read."""
    from looplab.agents import VERIFIER_FEATURES
    from looplab.report import Table, print_blocks

    rows = [[name, about] for name, about in VERIFIER_FEATURES.items()]
    print_blocks([Table("verifier features", ["feature", "what"], rows)], out)


def features_path(verifier_path: str) -> Path:
    """Where ``verifier train`` records the training answers' features: beside the
    verifier, ``V.json`` -> ``V.features.npz``."""
    path = Path(verifier_path)
    return path.with_name(path.stem + ".features.npz")


def _answered_line(held) -> list[str]:
    if held.answered is None or held.answered_auroc is None:
        return []
    auroc = f"{held.answered_auroc:.3f}"
    if held.answered_low is not None and held.answered_high is not None:
        auroc += f" [{held.answered_low:.3f}, {held.answered_high:.3f}]"
    return [
        f"among the {held.answered} answers with an answer extracted: held-out AUROC {auroc} "
        "(the figure to compare with sources that need an answer)"
    ]


def _print_summary(verifier) -> None:
    from looplab.report import Table, Text, print_blocks

    held = verifier.heldout
    runs = [
        [r.path, r.graph, r.model, str(r.tasks), str(r.attempts), str(r.right)]
        for r in verifier.training
    ]
    auroc = "n/a"
    if held.auroc is not None:
        auroc = f"{held.auroc:.3f}"
        if held.low is not None and held.high is not None:
            auroc += f" [{held.low:.3f}, {held.high:.3f}]"
    lines = [
        f"features: {', '.join(verifier.features)} ({len(verifier.columns)} columns)"
        + (f"; hidden states of {verifier.model}" if verifier.model else ""),
        f"held-out AUROC {auroc}: {held.attempts} answers ({held.right} right) of "
        f"{held.tasks} tasks, each scored by whichever of the {held.folds} fold probes never "
        "saw its task (95% bootstrap over tasks)",
        *_answered_line(held),
        f"regularisation C: {verifier.probe.C:g} (all tasks), "
        + ", ".join(f"{p.C:g}" for p in verifier.folds)
        + " (folds), chosen by grouped cross-validation",
    ]
    print_blocks(
        [
            Table("trained on", ["run", "graph", "model", "tasks", "answers", "right"], runs),
            Text(lines),
        ],
        out,
    )
