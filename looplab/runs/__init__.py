"""Running loops over task sets: the loop's and the run's config, building a
loop from it, the eval runner and its executors, and the run directory.

``run_eval(EvalConfig(...), RUN_DIR)`` writes a run directory (manifest,
fsynced results, every completion recorded); ``read_results(RUN_DIR)`` reads
its ``TaskResult``s back; ``build_setup(LoopConfig(...))`` builds one loop.

Names are imported on first use (PEP 562).
"""

from looplab._lazy import lazy_exports

_EXPORTS = {
    "EvalConfig": "_config",
    "ForkOf": "_config",
    "LoopConfig": "_config",
    "StopRule": "_config",
    "validated": "_config",
    "RayExecutor": "_ray",
    "EXECUTORS": "_runner",
    "Executor": "_runner",
    "Progress": "_runner",
    "run_eval": "_runner",
    "build_setup": "_setup",
    "check_run_config": "_setup",
    "check_loop_config": "_setup",
    "MANIFEST": "_store",
    "Manifest": "_store",
    "RESULTS": "_store",
    "RunStore": "_store",
    "read_results": "_store",
    "tagged_line": "_store",
    "Job": "_task_runner",
    "TaskRunner": "_task_runner",
    "task_seed": "_task_runner",
    "EventLoopWorker": "_workers",
    "LocalExecutor": "_workers",
    "default_workers": "_workers",
}
"""Public name -> the module that defines it."""

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
