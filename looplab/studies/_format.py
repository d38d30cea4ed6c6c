"""How the studies' tables print estimates and p-values."""

from __future__ import annotations

from looplab.metrics import Estimate

__all__ = ["interval", "p_is", "p_value", "signed", "tokens"]


def interval(e: Estimate, spec: str) -> str:
    """``e`` formatted by ``spec``, its CI in brackets when it has one."""
    if e.value is None:
        return "n/a"
    if e.low is None or e.high is None:
        return format(e.value, spec)
    return f"{e.value:{spec}} [{e.low:{spec}}, {e.high:{spec}}]"


def tokens(e: Estimate) -> str:
    """Mean tokens with their interval, as whole numbers."""
    return interval(e, ",.0f")


def signed(e: Estimate) -> str:
    """A difference of shares with its interval, signed percentages."""
    return interval(e, "+.1%")


def p_value(p: float) -> str:
    """A p-value to three decimals; below 0.001 said so, never printed as 0.000."""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_is(p: float) -> str:
    """``= 0.012`` or ``< 0.001``: a p-value after its name."""
    return p_value(p) if p < 0.001 else f"= {p_value(p)}"
