"""Measuring repair: task sets, ground-truth checkers, the eval runner, metrics, reports.

``run_eval(EvalConfig(...), RUN_DIR)`` writes a run directory;
``compute_metrics(read_results(RUN_DIR))`` computes every number of its
report; ``write_report(RUN_DIR)`` writes plots and report.html;
``load_run(RUN_DIR)`` gives a pandas DataFrame.

Names are imported on first use (PEP 562): ``looplab report`` should not pay
for the runner's imports (LangGraph, the model SDKs), nor ``looplab eval``
for the report's (matplotlib).
"""

from __future__ import annotations

from looplab._lazy import lazy_exports

_EXPORTS = {
    "Grade": "_checkers",
    "Grader": "_checkers",
    "numbers_equal": "_checkers",
    "parse_number": "_checkers",
    "program_for": "_checkers",
    "Comparison": "_compare",
    "compare_results": "_compare",
    "attempt_rows": "_frame",
    "load_run": "_frame",
    "write_csv": "_frame",
    "arithmetic_tasks": "_generated",
    "code_tasks": "_generated",
    "humaneval_tasks": "_humaneval",
    "visible_tests_from_docstring": "_humaneval",
    "jsonl_tasks": "_jsonl",
    "CriticMetrics": "_metrics",
    "RunMetrics": "_metrics",
    "compute_metrics": "_metrics",
    "correctness_by_iteration": "_metrics",
    "flip_counts": "_metrics",
    "pass_at_t": "_metrics",
    "IterationErrors": "_propagation",
    "MistakeMetrics": "_propagation",
    "PropagationMetrics": "_propagation",
    "fault_events": "_propagation",
    "iteration_errors": "_propagation",
    "mistake_metrics": "_propagation",
    "propagation_metrics": "_propagation",
    "write_report": "_reportdir",
    "EvalConfig": "_runner",
    "ForkOf": "_runner",
    "run_eval": "_runner",
    "task_seed": "_runner",
    "Estimate": "_stats",
    "bootstrap": "_stats",
    "mcnemar_exact": "_stats",
    "paired_bootstrap": "_stats",
    "pass_at_k": "_stats",
    "Manifest": "_store",
    "RunStore": "_store",
    "TaskResult": "_store",
    "read_results": "_store",
    "TASK_SETS": "_tasks",
    "load_tasks": "_tasks",
}
"""Public name -> the private module that defines it."""


__all__ = [
    # tasks
    "TASK_SETS",
    "arithmetic_tasks",
    "code_tasks",
    "humaneval_tasks",
    "jsonl_tasks",
    "load_tasks",
    "visible_tests_from_docstring",
    # grading
    "Grade",
    "Grader",
    "numbers_equal",
    "parse_number",
    "program_for",
    # running
    "EvalConfig",
    "ForkOf",
    "Manifest",
    "RunStore",
    "TaskResult",
    "read_results",
    "run_eval",
    "task_seed",
    # metrics and statistics
    "CriticMetrics",
    "Estimate",
    "IterationErrors",
    "MistakeMetrics",
    "PropagationMetrics",
    "RunMetrics",
    "bootstrap",
    "compute_metrics",
    "correctness_by_iteration",
    "fault_events",
    "iteration_errors",
    "mistake_metrics",
    "propagation_metrics",
    "flip_counts",
    "mcnemar_exact",
    "paired_bootstrap",
    "pass_at_k",
    "pass_at_t",
    # reports
    "Comparison",
    "attempt_rows",
    "compare_results",
    "load_run",
    "write_csv",
    "write_report",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
