"""Agents: the Generator (a model answering through the tool-calling decode loop) and the
Critic (a structured verdict, optionally after verifying with tools)."""

from looplab.agents._critic import Critic, CriticVerdict
from looplab.agents._decode import DecodeLoop, OnToolCall, PendingCall, trim_output
from looplab.agents._generator import Generator

__all__ = [
    "Critic",
    "CriticVerdict",
    "DecodeLoop",
    "Generator",
    "OnToolCall",
    "PendingCall",
    "trim_output",
]
