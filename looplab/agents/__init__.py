"""Agents: the Generator (a model answering through the tool-calling decode loop) and the
Critic (a structured verdict, optionally after verifying with tools) and the MistakeFinder
(the first wrong step of a chain of thought), and the StepChecker (the calculator
recomputing an answer's arithmetic steps: feedback from a tool)."""

from looplab.agents._confidence import answer_logprob
from looplab.agents._critic import CRITIC_CONFIDENCE, Critic, CriticVerdict
from looplab.agents._decode import DecodeLoop, OnToolCall, PendingCall, trim_output
from looplab.agents._finder import FINDER_STYLES, MistakeFinder, number_steps
from looplab.agents._generator import Generator
from looplab.agents._step_checker import StepChecker, arithmetic_steps

__all__ = [
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
]
