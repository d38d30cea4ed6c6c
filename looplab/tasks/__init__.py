"""Task sets and ground truth: loaders (generated families, GSM8K, BIG-Bench
Mistake, HumanEval, JSONL and tables), the graders that check answers, and
``looplab tasks check``.

``load_tasks("arithmetic:digits=2", limit=20)`` gives a list of ``Task``;
``Grader(sandbox).grade(task, text)`` says whether an answer is right.

Names are imported on first use (PEP 562).
"""

from looplab._lazy import lazy_exports

_EXPORTS = {
    "Annotation": "_calc_check",
    "CalcCheck": "_calc_check",
    "agrees_with_annotation": "_calc_check",
    "annotations": "_calc_check",
    "check_calculator": "_calc_check",
    "check_tasks": "_check",
    "Grade": "_checkers",
    "Grader": "_checkers",
    "numbers_equal": "_checkers",
    "parse_number": "_checkers",
    "program_for": "_checkers",
    "BBM_TASKS": "_datasets",
    "bbmistake_tasks": "_datasets",
    "gsm8k_reference": "_datasets",
    "gsm8k_tasks": "_datasets",
    "arithmetic_tasks": "_generated",
    "code_tasks": "_generated",
    "humaneval_tasks": "_humaneval",
    "visible_tests_from_docstring": "_humaneval",
    "jsonl_tasks": "_jsonl",
    "table_tasks": "_jsonl",
    "TASK_SETS": "_load",
    "TaskSet": "_load",
    "load_tasks": "_load",
    "task_set_forms": "_load",
    "Rows": "_rows",
    "is_dataset_folder": "_rows",
    "read_rows": "_rows",
    "split_suffix": "_rows",
}
"""Public name -> the module that defines it."""

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
