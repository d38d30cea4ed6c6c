"""Perturbations for error-propagation studies: tools wrong on purpose, feedback ablations,
planted mistakes. Every perturbation is seeded and recorded on the record it touches."""

from looplab.perturb._faults import (
    FAULT_MODES,
    FaultSpec,
    FaultyTool,
    parse_fault_specs,
    with_faults,
)
from looplab.perturb._feedback import (
    FEEDBACK_FORMS,
    NO_FEEDBACK,
    FeedbackSpec,
    oracle_flip,
    plausible_wrong_answer,
)
from looplab.perturb._mistakes import STEP, plant_mistake, planted_tasks

__all__ = [
    "FAULT_MODES",
    "FEEDBACK_FORMS",
    "NO_FEEDBACK",
    "STEP",
    "FaultSpec",
    "FaultyTool",
    "FeedbackSpec",
    "oracle_flip",
    "parse_fault_specs",
    "plant_mistake",
    "planted_tasks",
    "plausible_wrong_answer",
    "with_faults",
]
