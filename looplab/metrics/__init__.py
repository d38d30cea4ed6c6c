"""Numbers from records: every metric is a pure function of ``TaskResult``s.

``compute_metrics(results)`` gives a run's ``RunMetrics`` (accuracy per
iteration, flips, the critic's confusion and calibration, pass@k and pass@t,
tokens, propagation), every interval from one shared bootstrap;
``compare_results`` pairs two runs; ``load_run`` gives a DataFrame.

Names are imported on first use (PEP 562).
"""

from looplab._lazy import lazy_exports

_EXPORTS = {
    "Comparison": "_compare",
    "compare_results": "_compare",
    "COVERAGE": "_confidence",
    "ConfidenceMetrics": "_confidence",
    "ReliabilityBin": "_confidence",
    "confidence_metrics": "_confidence",
    "reliability_bins": "_confidence",
    "risk_coverage": "_confidence",
    "attempt_rows": "_frame",
    "load_run": "_frame",
    "write_csv": "_frame",
    "CriticMetrics": "_metrics",
    "FLIPS": "_metrics",
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
    "mistake_metrics_by_task": "_propagation",
    "propagation_metrics": "_propagation",
    "GridCell": "_self_repair",
    "PoolProgram": "_self_repair",
    "expected_cell": "_self_repair",
    "pools": "_self_repair",
    "self_repair_grid": "_self_repair",
    "BONETT_PRICE": "_stats",
    "BOOTSTRAP_SEED": "_stats",
    "INTERVAL_NAMES": "_stats",
    "holm": "_stats",
    "interval_name": "_stats",
    "paired_difference_interval": "_stats",
    "power_tasks": "_stats",
    "proportion_interval": "_stats",
    "sign_flip_test": "_stats",
    "Estimate": "_stats",
    "SumStatistic": "_stats",
    "TaskIndex": "_stats",
    "bootstrap": "_stats",
    "bootstrap_sums": "_stats",
    "mcnemar_exact": "_stats",
    "paired_bootstrap": "_stats",
    "pass_at_k": "_stats",
    "rate": "_stats",
    "ratio": "_stats",
    "resample_counts": "_stats",
}
"""Public name -> the module that defines it."""

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
