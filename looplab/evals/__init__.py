"""The measuring layer's names in one place, kept for scripts written against 0.1.

They live in ``looplab.tasks`` (task sets, graders), ``looplab.runs`` (config,
runner, run directory), ``looplab.metrics`` and ``looplab.report``; this module
only re-exports them (nothing inside looplab imports it).

``run_eval(EvalConfig(...), RUN_DIR)`` writes a run directory;
``compute_metrics(read_results(RUN_DIR))`` computes every number of its
report; ``write_report(RUN_DIR)`` writes plots and report.html;
``load_run(RUN_DIR)`` gives a pandas DataFrame.

Names are imported on first use (PEP 562): ``looplab report`` should not pay
for the runner's imports (LangGraph, the model SDKs), nor ``looplab eval``
for the report's (matplotlib).
"""

from looplab._lazy import lazy_exports

_EXPORTS = {
    "Grade": "looplab.tasks",
    "Grader": "looplab.tasks",
    "numbers_equal": "looplab.tasks",
    "parse_number": "looplab.tasks",
    "program_for": "looplab.tasks",
    "Comparison": "looplab.metrics",
    "compare_results": "looplab.metrics",
    "attempt_rows": "looplab.metrics",
    "load_run": "looplab.metrics",
    "write_csv": "looplab.metrics",
    "arithmetic_tasks": "looplab.tasks",
    "code_tasks": "looplab.tasks",
    "humaneval_tasks": "looplab.tasks",
    "visible_tests_from_docstring": "looplab.tasks",
    "jsonl_tasks": "looplab.tasks",
    "CriticMetrics": "looplab.metrics",
    "RunMetrics": "looplab.metrics",
    "compute_metrics": "looplab.metrics",
    "correctness_by_iteration": "looplab.metrics",
    "flip_counts": "looplab.metrics",
    "pass_at_t": "looplab.metrics",
    "IterationErrors": "looplab.metrics",
    "MistakeMetrics": "looplab.metrics",
    "PropagationMetrics": "looplab.metrics",
    "fault_events": "looplab.metrics",
    "iteration_errors": "looplab.metrics",
    "mistake_metrics": "looplab.metrics",
    "propagation_metrics": "looplab.metrics",
    "write_report": "looplab.report",
    "EvalConfig": "looplab.runs",
    "ForkOf": "looplab.runs",
    "run_eval": "looplab.runs",
    "task_seed": "looplab.runs",
    "Estimate": "looplab.metrics",
    "bootstrap": "looplab.metrics",
    "mcnemar_exact": "looplab.metrics",
    "paired_bootstrap": "looplab.metrics",
    "pass_at_k": "looplab.metrics",
    "Manifest": "looplab.runs",
    "RunStore": "looplab.runs",
    "TaskResult": "looplab.records",
    "read_results": "looplab.runs",
    "TASK_SETS": "looplab.tasks",
    "load_tasks": "looplab.tasks",
}
"""Public name -> the package that defines it."""


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
