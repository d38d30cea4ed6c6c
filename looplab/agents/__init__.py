"""Agents: the Generator (a model answering through the tool-calling decode loop).

The Critic arrives with the graphs issue (#6).
"""

from looplab.agents._decode import DecodeLoop, OnToolCall, PendingCall, trim_output
from looplab.agents._generator import Generator

__all__ = ["DecodeLoop", "Generator", "OnToolCall", "PendingCall", "trim_output"]
