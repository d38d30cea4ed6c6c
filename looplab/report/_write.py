"""Writing a run's report files: plots (PNG, SVG) and report.html."""

from __future__ import annotations

from pathlib import Path

from looplab.errors import EvalError
from looplab.metrics import RunMetrics, compute_metrics
from looplab.report._html import write_html
from looplab.report._plots import write_plots
from looplab.runs import RunStore, read_results
from looplab.tasks import load_tasks

__all__ = ["write_report"]


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
    page = write_html(metrics, results, tasks, svgs, store.dir / "report.html", title=title)
    return metrics, page
