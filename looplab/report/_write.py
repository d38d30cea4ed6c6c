"""Writing a run's report files: plots (PNG, SVG) and report.html."""

from __future__ import annotations

import shlex
from pathlib import Path

from looplab.errors import EvalError
from looplab.metrics import RunMetrics, compute_metrics
from looplab.records import TaskResult
from looplab.report._blocks import Block, Text
from looplab.report._html import write_html
from looplab.report._plots import write_plots
from looplab.runs import RunStore, read_results
from looplab.tasks import load_tasks

__all__ = ["report_header", "write_report"]


def report_header(run_dir: str | Path, results: list[TaskResult] | None = None) -> list[Block]:
    """What a report says first about the run itself: that it is unfinished (how many
    of its tasks are done, and the command that finishes it), and the study and arm it
    belongs to."""
    store = RunStore(run_dir)
    manifest = store.manifest()
    config = store.config()
    results = read_results(run_dir) if results is None else results
    blocks: list[Block] = []
    labels = manifest.labels
    if labels.get("study"):
        blocks.append(
            Text([f"study {labels['study']} · arm {labels.get('shown') or labels.get('arm')}"])
        )
    expected = manifest.task_count * config.samples if config.fork is None else None
    if expected and len(results) < expected:
        tasks = len({r.task_id for r in results})
        if labels.get("command"):  # a study arm: the study command as it was given
            finish = labels["command"]
        elif labels.get("study"):
            folder = shlex.quote(str(store.dir.parent))
            finish = f"looplab study {labels['study']} --run-dir {folder} (its options as given)"
        else:
            finish = f"looplab eval --resume {shlex.quote(str(store.dir))}"
        blocks.append(
            Text(
                [
                    f"UNFINISHED: {len(results)} of {expected} results ({tasks} of "
                    f"{manifest.task_count} tasks); the numbers below are over those done. "
                    f"Finish with: {finish}"
                ],
                tone="alert",
            )
        )
    return blocks


def write_report(run_dir: str | Path) -> tuple[RunMetrics, Path]:
    """Compute the metrics, write plots/ and report.html; return the metrics and the page."""
    store = RunStore(run_dir)
    manifest = store.manifest()
    results = read_results(run_dir)
    if not results:
        raise EvalError(f"{run_dir} has no finished task yet")
    metrics = compute_metrics(results)
    config = store.config()
    tasks = {t.id: t for t in load_tasks(config.tasks, limit=config.limit)}
    svgs = write_plots(metrics, store.dir / "plots")
    title = f"{config.tasks} · {config.graph} · started {manifest.started}"
    header = report_header(run_dir, results)
    page = write_html(
        metrics, results, tasks, svgs, store.dir / "report.html", title=title, header=header
    )
    return metrics, page
