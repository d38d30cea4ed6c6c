"""Agents: the Generator (a model answering through the tool-calling decode loop) and the
Critic (a structured verdict, optionally after verifying with tools) and the MistakeFinder
(the first wrong step of a chain of thought), and the StepChecker (the calculator
recomputing an answer's arithmetic steps: feedback from a tool), and the learned
Verifier (a probe on an answer's features, cross-fitted by task)."""

from looplab.agents._confidence import (
    CONFIDENCE_SOURCES,
    P_TRUE_PREFIX,
    agreement,
    answer_logprob,
    p_true,
    p_true_from,
    p_true_messages,
)
from looplab.agents._critic import CRITIC_CONFIDENCE, SAMPLE_TEMPERATURE, Critic, CriticVerdict
from looplab.agents._decode import (
    CONTINUE_REQUEST,
    DecodeLoop,
    OnToolCall,
    PendingCall,
    trim_output,
)
from looplab.agents._finder import FINDER_STYLES, MistakeFinder, number_steps
from looplab.agents._generator import Generator
from looplab.agents._step_checker import StepChecker, arithmetic_steps
from looplab.agents._verifier import (
    DEFAULT_FEATURES,
    VERIFIER_FEATURES,
    Candidate,
    FeatureRow,
    HeldOut,
    LinearProbe,
    TrainingRun,
    Verifier,
    candidate_features,
    check_features,
    load_verifier,
    task_key,
)

__all__ = [
    # confidence sources
    "CONFIDENCE_SOURCES",
    "P_TRUE_PREFIX",
    "agreement",
    "p_true",
    "p_true_from",
    "p_true_messages",
    "SAMPLE_TEMPERATURE",
    "CONTINUE_REQUEST",
    "FINDER_STYLES",
    "CRITIC_CONFIDENCE",
    "Critic",
    "CriticVerdict",
    "DecodeLoop",
    "Generator",
    "MistakeFinder",
    "OnToolCall",
    "PendingCall",
    "StepChecker",
    "answer_logprob",
    "arithmetic_steps",
    "number_steps",
    "trim_output",
    # learned verifiers
    "DEFAULT_FEATURES",
    "VERIFIER_FEATURES",
    "Candidate",
    "FeatureRow",
    "HeldOut",
    "LinearProbe",
    "TrainingRun",
    "Verifier",
    "candidate_features",
    "check_features",
    "load_verifier",
    "task_key",
]
