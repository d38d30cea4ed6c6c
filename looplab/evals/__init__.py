"""Measuring repair: task sets, ground-truth checkers, the eval runner, metrics, reports.

``run_eval(EvalConfig(...), RUN_DIR)`` writes a run directory;
``compute_metrics(read_results(RUN_DIR))`` computes every number of its
report; ``write_report(RUN_DIR)`` writes plots and report.html;
``load_run(RUN_DIR)`` gives a pandas DataFrame.
"""

from looplab.evals._checkers import Grade, Grader, numbers_equal, parse_number, program_for
from looplab.evals._compare import Comparison, compare_results
from looplab.evals._frame import attempt_rows, load_run, write_csv
from looplab.evals._generated import arithmetic_tasks, code_tasks
from looplab.evals._humaneval import humaneval_tasks, visible_tests_from_docstring
from looplab.evals._jsonl import jsonl_tasks
from looplab.evals._metrics import (
    CriticMetrics,
    RunMetrics,
    compute_metrics,
    correctness_by_iteration,
    flip_counts,
    pass_at_t,
)
from looplab.evals._propagation import (
    IterationErrors,
    MistakeMetrics,
    PropagationMetrics,
    fault_events,
    iteration_errors,
    mistake_metrics,
    propagation_metrics,
)
from looplab.evals._reportdir import write_report
from looplab.evals._runner import EvalConfig, ForkOf, run_eval, task_seed
from looplab.evals._stats import (
    Estimate,
    bootstrap,
    mcnemar_exact,
    paired_bootstrap,
    pass_at_k,
)
from looplab.evals._store import Manifest, RunStore, TaskResult, read_results
from looplab.evals._tasks import TASK_SETS, load_tasks

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
