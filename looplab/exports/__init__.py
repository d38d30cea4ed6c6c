"""Runs out: training data (sft, dpo, critic, repairs) and inspect_ai eval logs.

``export_run(RUN_DIR, "sft")`` writes ``RUN_DIR/export-sft/sft.jsonl`` and a dataset
card (``README.md``) beside it; ``export_run(RUN_DIR, "inspect")`` writes an eval log
that ``inspect view`` opens. ``training_records(load_source(RUN_DIR), KIND)`` gives the
records without writing. A layer above ``evals``: it reads runs, never runs loops.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from looplab.errors import EvalError
from looplab.exports._card import dataset_card, is_dataset_card
from looplab.exports._inspect import inspect_log, write_inspect_log
from looplab.exports._source import RunSource, load_source, task_licence
from looplab.exports._training import (
    TRAINING_KINDS,
    ExportOptions,
    TrainingData,
    training_records,
)
from looplab.files import make_dir, refuse_symlink, write_file

__all__ = [
    "EXPORT_KINDS",
    "TRAINING_KINDS",
    "ExportOptions",
    "ExportSummary",
    "RunSource",
    "TrainingData",
    "export_run",
    "inspect_log",
    "load_source",
    "task_licence",
    "training_records",
    "write_inspect_log",
]

EXPORT_KINDS: tuple[str, ...] = (*TRAINING_KINDS, "inspect")
"""What ``looplab export --as`` can write: the training kinds and an inspect_ai log."""


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    kind: str
    path: Path
    records: int
    card: Path | None = None
    duplicates: int = 0
    left_out: dict[str, int] = field(default_factory=dict)
    """Results left out, by reason (``oracle``, ``perturbed``, ``failed``)."""


def default_path(run_dir: str | Path, kind: str) -> Path:
    """Where ``looplab export RUN --as KIND`` writes when given no ``--out``."""
    run = Path(run_dir)
    name = f"{run.resolve().name}.eval" if kind == "inspect" else f"{kind}.jsonl"
    return run / f"export-{kind}" / name


def export_run(
    run_dir: str | Path,
    kind: str,
    out: str | Path | None = None,
    *,
    options: ExportOptions | None = None,
    tasks: str | None = None,
) -> ExportSummary:
    """Export a run as ``kind`` (one of ``EXPORT_KINDS``) to ``out``.

    Training kinds write JSON lines and a dataset card ``README.md`` in the same folder;
    ``inspect`` writes an inspect_ai log. ``tasks`` overrides the run's task spec.
    """
    if kind not in EXPORT_KINDS:
        raise EvalError(f"unknown export {kind!r}: use one of {', '.join(EXPORT_KINDS)}")
    source = load_source(run_dir, tasks=tasks)
    path = Path(out) if out is not None else default_path(run_dir, kind)
    if kind == "inspect":
        write_inspect_log(source, path)
        return ExportSummary(kind=kind, path=path, records=len(source.results))
    options = options or ExportOptions()
    data = training_records(source, kind, options)
    make_dir(path.parent)
    card = path.parent / "README.md"
    refuse_symlink(card)
    if card.exists() and not is_dataset_card(card.read_text(encoding="utf-8", errors="replace")):
        # the card is written beside the file: never over a README the user did not name
        raise EvalError(
            f"{card} exists and is not a looplab dataset card: give --out a folder of its own"
        )
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in data.records)
    write_file(path, lines)
    write_file(card, dataset_card(source, data, options, path.name))
    return ExportSummary(
        kind=kind,
        path=path,
        records=len(data.records),
        card=card,
        duplicates=data.duplicates,
        left_out=dict(data.left_out),
    )
