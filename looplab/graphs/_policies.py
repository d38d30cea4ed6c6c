"""Stop policies: when a critique loop ends.

A policy looks at the state after each check and returns a reason to stop,
or None. ``AnyOf`` combines them (the first reason wins). Whatever the
policies say, the decide node also enforces hard caps (attempts, tokens).

``Oracle`` is the one policy that reads ground truth. It must be passed in
explicitly, the checker is handed to the run (never put in the state), and
every record of such a run is marked ``oracle=True``: oracle-stopped results
are upper bounds, not self-correction (Huang et al. 2023).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from looplab.errors import ConfigError
from looplab.graphs._state import LoopState, OracleCheck, StopPolicy
from looplab.records import Usage

__all__ = [
    "PRICES_PER_MTOK",
    "AnswerUnchanged",
    "AnyOf",
    "CostBudget",
    "ConfidenceAbove",
    "CriticSaysCorrect",
    "MaxIterations",
    "NoVisibleTests",
    "Oracle",
    "TokenBudget",
    "loop_usage",
]

PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    # USD per million (prompt, completion) tokens, list prices as of 2026-11.
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "llama.cpp:": (0.0, 0.0),  # the embedded model and any local GGUF
}
"""List prices per million (prompt, completion) tokens, by model-name prefix."""


def loop_usage(state: LoopState) -> Usage:
    """Every model call's usage in the loop so far, every role's."""
    total = Usage()
    for record in (*state.get("attempts", []), *state.get("critiques", [])):
        total += record.usage
    return total


@dataclass(frozen=True)
class MaxIterations:
    """Stop after ``n`` attempts."""

    n: int
    uses_oracle: bool = False

    def reason(self, state: LoopState, oracle: OracleCheck | None) -> str | None:
        return "max_iterations" if len(state.get("attempts", [])) >= self.n else None


@dataclass(frozen=True)
class CriticSaysCorrect:
    """Stop when the latest critique says correct with at least ``threshold`` confidence."""

    threshold: float = 0.5
    uses_oracle: bool = False

    def reason(self, state: LoopState, oracle: OracleCheck | None) -> str | None:
        critiques = state.get("critiques", [])
        if not critiques:
            return None
        last = critiques[-1]
        if last.verdict == "correct" and (last.confidence or 0.0) >= self.threshold:
            return "critic_correct"
        return None


@dataclass(frozen=True)
class ConfidenceAbove:
    """Stop when the latest critique's probability that the answer is right (any
    confidence source: ``Critique.p_correct``) is at least ``threshold``."""

    threshold: float
    uses_oracle: bool = False

    def reason(self, state: LoopState, oracle: OracleCheck | None) -> str | None:
        critiques = state.get("critiques", [])
        p = critiques[-1].p_correct if critiques else None
        return "confident" if p is not None and p >= self.threshold else None


@dataclass(frozen=True)
class NoVisibleTests:
    """Stop when the tests gave no verdict because the task has no visible tests."""

    uses_oracle: bool = False

    def reason(self, state: LoopState, oracle: OracleCheck | None) -> str | None:
        critiques = state.get("critiques", [])
        last = critiques[-1] if critiques else None
        untested = last is not None and last.source == "tests" and last.verdict is None
        return "no_visible_tests" if untested else None


@dataclass(frozen=True)
class NothingChecked:
    """Stop when a checking tool found nothing in the answer to check, or the model wrote no
    usable test of its own (no verdict)."""

    uses_oracle: bool = False

    def reason(self, state: LoopState, oracle: OracleCheck | None) -> str | None:
        critiques = state.get("critiques", [])
        last = critiques[-1] if critiques else None
        unchecked = (
            last is not None and last.source in ("tool", "self-tests") and last.verdict is None
        )
        return "nothing_checked" if unchecked else None


@dataclass(frozen=True)
class AnswerUnchanged:
    """Stop when the extracted answer did not change between two attempts (CRITIC's rule)."""

    uses_oracle: bool = False

    def reason(self, state: LoopState, oracle: OracleCheck | None) -> str | None:
        attempts = state.get("attempts", [])
        unchanged = (
            len(attempts) >= 2
            and attempts[-1].answer is not None
            and attempts[-1].answer == attempts[-2].answer
        )
        return "answer_unchanged" if unchanged else None


@dataclass(frozen=True)
class TokenBudget:
    """Stop once the loop has used ``max_tokens`` (prompt + completion, all roles)."""

    max_tokens: int
    uses_oracle: bool = False

    def reason(self, state: LoopState, oracle: OracleCheck | None) -> str | None:
        return "token_budget" if loop_usage(state).total_tokens >= self.max_tokens else None


@dataclass(frozen=True)
class CostBudget:
    """Stop once the loop has cost ``max_usd`` at the given prices (USD per million tokens).

    A model without a known price is an error, not a free model.
    """

    max_usd: float
    prices: Mapping[str, tuple[float, float]] = field(default_factory=lambda: PRICES_PER_MTOK)
    uses_oracle: bool = False

    def price(self, model: str) -> tuple[float, float]:
        """The (prompt, completion) price per million tokens of ``model``: the longest matching
        prefix."""
        for prefix, price in sorted(self.prices.items(), key=lambda kv: -len(kv[0])):
            name = model.split(":", 1)[1] if model.startswith("openai:") else model
            if name.startswith(prefix) or model.startswith(prefix):
                return price
        raise ConfigError(f"no price known for model {model!r}: pass prices= to CostBudget")

    def reason(self, state: LoopState, oracle: OracleCheck | None) -> str | None:
        cost = 0.0
        for record in (*state.get("attempts", []), *state.get("critiques", [])):
            if record.model:
                prompt, completion = self.price(record.model)
                usage = record.usage
                cost += (usage.prompt_tokens * prompt + usage.completion_tokens * completion) / 1e6
        return "cost_budget" if cost >= self.max_usd else None


@dataclass(frozen=True)
class Oracle:
    """Stop as soon as the latest answer is correct by ground truth. Inflates results."""

    uses_oracle: bool = True

    def reason(self, state: LoopState, oracle: OracleCheck | None) -> str | None:
        if oracle is None:
            raise ConfigError(
                "the oracle stop policy needs ground truth: run the loop with oracle=CHECK"
            )
        attempts = state.get("attempts", [])
        if attempts and oracle(attempts[-1].answer):
            return "oracle_correct"
        return None


class AnyOf:
    """Stop when any policy says so; the first reason wins."""

    def __init__(self, *policies: StopPolicy) -> None:
        self.policies = policies
        self.uses_oracle = any(p.uses_oracle for p in policies)

    def reason(self, state: LoopState, oracle: OracleCheck | None) -> str | None:
        for policy in self.policies:
            found = policy.reason(state, oracle)
            if found is not None:
                return found
        return None
