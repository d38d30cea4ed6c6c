"""The dataset card written beside an export: a Hugging Face style README.md whose YAML
header names the licence and the data file, and whose body gives the counts, the
source run and what was left out."""

from __future__ import annotations

from collections import Counter
from typing import Any

from looplab.exports._source import RunSource, task_licence
from looplab.exports._training import ExportOptions, TrainingData

__all__ = ["dataset_card", "is_dataset_card"]

CARD_HEADING = "# looplab export: "
"""The heading of every dataset card: a README.md without it is not looplab's to replace."""


def is_dataset_card(text: str) -> bool:
    """Whether ``text`` (a README.md) is a dataset card looplab wrote."""
    return any(line.startswith(CARD_HEADING) for line in text.splitlines())


_WHAT = {
    "sft": "a task and a final answer the grader found right (`messages`)",
    "dpo": "a task with a right (`chosen`) and a wrong (`rejected`) attempt (`prompt`)",
    "critic": "a task, an attempt (`completion`) and the grader's verdict (`label`)",
    "repairs": "a wrong attempt, the feedback shown, and the repair that made it right",
}


def _licence_id(licence: str) -> str:
    first = licence.split(" ", 1)[0].lower()
    return first if first in ("mit", "apache-2.0") else "other"


def dataset_card(
    source: RunSource, data: TrainingData, options: ExportOptions, file_name: str
) -> str:
    """The card's Markdown for ``data``, exported from ``source`` into ``file_name``."""
    licence = task_licence(source.spec)
    config = source.manifest.config
    models = Counter(
        r["provenance"].get("model", "") for r in data.records if r["provenance"].get("model")
    )
    marked = Counter(kind for r in data.records for kind in r["provenance"].get("perturbed", []))
    oracle = sum(bool(r["provenance"].get("oracle")) for r in data.records)
    lines = [
        "---",
        f"license: {_licence_id(licence)}",
        "configs:",
        "- config_name: default",
        f"  data_files: {file_name}",
        "---",
        "",
        f"{CARD_HEADING}{data.kind}",
        "",
        f"One record per line: {_WHAT[data.kind]}, with `provenance` (run, task, sample, "
        "iteration, model).",
        "",
        "| | |",
        "|---|---|",
        f"| records | {len(data.records)} |",
        f"| duplicates dropped | {data.duplicates} |",
        *(f"| results left out: {why} | {n} |" for why, n in sorted(data.left_out.items())),
        f"| records from oracle-steered results | {oracle} |",
        *(f"| records marked perturbed: {kind} | {n} |" for kind, n in sorted(marked.items())),
        f"| source run | `{source.dir}` |",
        f"| task set | `{source.spec}` |",
        f"| task set licence | {licence} |",
        f"| graph | `{config.get('graph', '')}` |",
        *(f"| model | `{name}` ({n} records) |" for name, n in models.most_common()),
        f"| run started | {source.manifest.started} |",
        f"| looplab | {source.manifest.versions.get('looplab', '?')} |",
        "",
        _options_line(data.kind, options),
        "",
        "Grades come from looplab's grader (reference answers or hidden tests), which never "
        "appear in the records. Oracle-steered and perturbed results are left out unless "
        "the export was asked to keep them, and are marked in `provenance` when kept. The "
        "model outputs are subject to the model's own licence as well as the task set's.",
        "",
    ]
    return "\n".join(lines)


def _options_line(kind: str, options: ExportOptions) -> str:
    chosen: dict[str, Any] = {
        "include_oracle": options.include_oracle,
        "include_perturbed": options.include_perturbed,
        "dedup": options.dedup,
    }
    if kind == "sft":
        chosen["sft"] = options.sft
    elif kind == "dpo":
        chosen["pairs"] = options.pairs
    elif kind == "critic":
        chosen["judged_only"] = options.judged_only
    return "Export options: " + ", ".join(f"`{k}={v}`" for k, v in chosen.items()) + "."
