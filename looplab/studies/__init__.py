"""Studies: named presets whose arms are ordinary runs, summarised in tables
with intervals and paired comparisons, plus the calibration and verifier studies.

``run_study("feedback", StudyOptions(...), OUT_DIR)`` runs (or resumes) every
arm and writes study.json and the figures.

Names are imported on first use (PEP 562).
"""

from looplab._lazy import lazy_exports

_EXPORTS = {
    "BROWSING": "_browsing",
    "browse_counts": "_browsing",
    "COMPUTE": "_budget",
    "FEEDBACK": "_budget",
    "DEFAULT_FEEDBACK_ARMS": "_budget",
    "FEEDBACK_ARMS": "_budget",
    "FEEDBACK_ATTEMPTS": "_budget",
    "arm_label": "_budget",
    "feedback_arm_names": "_budget",
    "first_to_final": "_budget",
    "first_verdicts": "_budget",
    "arm_tokens": "_budget",
    "flag_recall": "_budget",
    "matched_baseline": "_budget",
    "CalibrationOptions": "_calibration",
    "RECORDS": "_calibration",
    "calibration_summary": "_calibration",
    "calibration_tables": "_calibration",
    "read_records": "_calibration",
    "run_calibration": "_calibration",
    "score_task": "_calibration",
    "study_tasks": "_calibration",
    "write_calibration_figure": "_calibration",
    "STUDIES": "_presets",
    "oracle_stopped_accuracy": "_presets",
    "run_study": "_presets",
    "study_arms": "_presets",
    "study_catalog": "_presets",
    "summary_json": "_presets",
    "VERIFIER_STUDY": "_verifier",
    "VerifierStudyOptions": "_verifier",
    "run_verifier_study": "_verifier",
    "score_samples": "_verifier",
    "split_tasks": "_verifier",
    "verifier_tables": "_verifier",
    "Reference": "_types",
    "Study": "_types",
    "StudyOptions": "_types",
    "data_dir": "_types",
    "default_data_dir": "_types",
}
"""Public name -> the module that defines it."""

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
