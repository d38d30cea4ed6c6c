"""Task sets and ground truth: loaders (generated families, GSM8K, BIG-Bench
Mistake, HumanEval, MATH, multiple choice, short-answer QA, MBPP, invented facts to
browse, JSONL and tables), the graders that check answers, and ``looplab tasks check``.

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
    "choice_tasks": "_benchmarks",
    "mbpp_entry_point": "_benchmarks",
    "mbpp_tasks": "_benchmarks",
    "qa_tasks": "_benchmarks",
    "chosen_letter": "_checkers",
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
    "browse_tasks": "_invented",
    "make_corpus": "_invented",
    "jsonl_tasks": "_jsonl",
    "table_tasks": "_jsonl",
    "latex_equal": "_math",
    "latex_equal_many": "_math",
    "math_reference": "_math",
    "math_tasks": "_math",
    "stated_unit": "_math",
    "EQUIVALENT_FORMS": "_math_forms",
    "NEAR_MISSES": "_math_forms",
    "audit": "_math_forms",
    "classify": "_math_forms",
    "equivalent_forms": "_math_forms",
    "near_misses": "_math_forms",
    "reference_shape": "_math_forms",
    "best_exact_match": "_squad",
    "best_f1": "_squad",
    "exact_match": "_squad",
    "normalize_answer": "_squad",
    "token_f1": "_squad",
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
