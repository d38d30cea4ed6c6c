"""Tool fault injection: tools that are wrong on purpose, at a set rate, reproducibly.

A ``FaultyTool`` wraps a real tool. Each call runs the real tool; then, with
probability ``rate``, the result the model sees is replaced by a realistic
wrong one, and the real one is kept on the record (``ToolCall.fault`` and
``ToolCall.true_output``), so metrics can follow the fault downstream.

The modes, per tool:

- ``calc``: ``digit`` (one digit of the number changed) or ``sign`` (negated).
- ``python``: ``false_failure`` (a run that succeeded reported as a crash with
  a traceback) or ``hide_failure`` (a run that failed reported as exit 0 with
  its error output dropped).
- ``browse``: ``stale`` (the page of an earlier call returned again) or
  ``unrelated`` (a page about something else).

A mode that cannot apply to a result (a calculator error has no digit to
change; a successful run has no failure to hide) is skipped: the rate is the
chance that a call which *can* be corrupted is corrupted. Each wrapper draws
from its own seeded generator in call order; the eval runner builds fresh
wrappers for every (task, sample), so a trajectory's faults depend only on
the seed and on the calls of that trajectory, never on thread timing.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from looplab.errors import ConfigError
from looplab.tools import Tool, ToolRegistry, ToolResult

__all__ = ["FAULT_MODES", "FaultSpec", "FaultyTool", "parse_fault_specs", "with_faults"]

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_UNRELATED_PAGE = (
    "Opening hours\n\nThe museum is open Tuesday to Sunday from 10:00 to 18:00. "
    "Tickets can be bought at the entrance. Guided tours start every hour."
)
_FAKE_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "<main>", line 1, in <module>\n'
    "RuntimeError: unexpected internal state"
)


@dataclass(frozen=True)
class FaultSpec:
    """Which tool to corrupt, how often, and with which modes (all of the tool's if empty)."""

    tool: str
    rate: float
    modes: tuple[str, ...] = ()

    def __str__(self) -> str:
        modes = f":{'+'.join(self.modes)}" if self.modes else ""
        return f"{self.tool}:{self.rate:g}{modes}"


def parse_fault_specs(text: str | Iterable[str]) -> list[FaultSpec]:
    """``calc:0.2``, ``python:0.3:hide_failure``, ``calc:0.1:digit+sign`` (comma-separated)."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    specs = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        tool, _, rest = part.partition(":")
        rate_text, _, modes_text = rest.partition(":")
        if tool not in FAULT_MODES:
            known = ", ".join(FAULT_MODES)
            raise ConfigError(f"fault {part!r}: no fault modes for tool {tool!r} (tools: {known})")
        try:
            rate = float(rate_text)
        except ValueError:
            raise ConfigError(
                f"fault {part!r}: write TOOL:RATE[:MODE+MODE], e.g. calc:0.2"
            ) from None
        if not 0.0 <= rate <= 1.0:
            raise ConfigError(f"fault {part!r}: the rate must be between 0 and 1")
        modes = tuple(m for m in modes_text.split("+") if m)
        unknown = [m for m in modes if m not in FAULT_MODES[tool]]
        if unknown:
            known = ", ".join(FAULT_MODES[tool])
            raise ConfigError(f"fault {part!r}: {tool} has no mode {unknown[0]!r} (modes: {known})")
        specs.append(FaultSpec(tool, rate, modes))
    return specs


Corrupt = Callable[[ToolResult, random.Random, "FaultyTool"], ToolResult | None]
"""Returns the corrupted result, or None when the mode cannot apply to this result."""


def _wrong(result: ToolResult, fault: str, *, ok: bool, output: str = "", error: str = ""):
    true = result.output if result.ok else f"error: {result.error}"
    return ToolResult(
        ok=ok,
        output=output,
        error=error,
        elapsed_s=result.elapsed_s,
        fault=fault,
        true_output=true,
    )


def _calc_digit(result: ToolResult, rng: random.Random, _: FaultyTool) -> ToolResult | None:
    digits = [i for i, ch in enumerate(result.output) if ch.isdigit()] if result.ok else []
    if not digits:
        return None
    where = rng.choice(digits)
    old = result.output[where]
    leading = where == 0 or not result.output[where - 1].isdigit()
    lowest = "1" if leading and len(digits) > 1 and where == digits[0] else "0"
    choices = [d for d in "0123456789" if d != old and d >= lowest]
    new = result.output[:where] + rng.choice(choices) + result.output[where + 1 :]
    return _wrong(result, "calc:digit", ok=True, output=new)


def _calc_sign(result: ToolResult, rng: random.Random, _: FaultyTool) -> ToolResult | None:
    text = result.output.strip() if result.ok else ""
    if not _NUMBER.fullmatch(text) or float(text) == 0:
        return None
    flipped = text[1:] if text.startswith("-") else "-" + text
    return _wrong(result, "calc:sign", ok=True, output=flipped)


def _python_false_failure(result: ToolResult, rng: random.Random, _: FaultyTool):
    if not (result.ok and result.output.startswith("exit 0")):
        return None
    return _wrong(
        result, "python:false_failure", ok=True, output=f"exit 1\nstderr:\n{_FAKE_TRACEBACK}"
    )


def _python_hide_failure(result: ToolResult, rng: random.Random, _: FaultyTool):
    if not result.ok:
        return _wrong(result, "python:hide_failure", ok=True, output="exit 0")
    status, _, rest = result.output.partition("\n")
    failed = not status.startswith("exit 0") or "stderr:" in rest
    if not failed:
        return None
    stdout = rest.split("stderr:\n", 1)[0].rstrip("\n")
    return _wrong(
        result, "python:hide_failure", ok=True, output="\n".join(filter(None, ["exit 0", stdout]))
    )


def _browse_stale(result: ToolResult, rng: random.Random, tool: FaultyTool):
    earlier = [page for page in tool.pages_seen[:-1] if page != result.output]
    if not earlier:
        return None
    return _wrong(result, "browse:stale", ok=True, output=rng.choice(earlier))


def _browse_unrelated(result: ToolResult, rng: random.Random, _: FaultyTool):
    return _wrong(result, "browse:unrelated", ok=True, output=_UNRELATED_PAGE)


FAULT_MODES: dict[str, dict[str, Corrupt]] = {
    "calc": {"digit": _calc_digit, "sign": _calc_sign},
    "python": {"false_failure": _python_false_failure, "hide_failure": _python_hide_failure},
    "browse": {"stale": _browse_stale, "unrelated": _browse_unrelated},
}
"""Tool name -> mode name -> how a real result is corrupted."""


class FaultyTool:
    """A real tool whose results are corrupted with probability ``spec.rate``."""

    def __init__(self, inner: Tool, spec: FaultSpec, *, seed: int | str) -> None:
        self.inner = inner
        self.spec = spec
        self.name = inner.name
        self.description = inner.description
        self.examples = inner.examples
        self._rng = random.Random(f"fault:{spec}:{seed}")
        self.pages_seen: list[str] = []
        modes = FAULT_MODES[spec.tool]
        self._modes = [modes[m] for m in (spec.modes or tuple(modes))]

    def run(self, text: str) -> ToolResult:
        result = self.inner.run(text)
        if result.ok and self.name == "browse":
            self.pages_seen.append(result.output)
        # One draw for "fault or not" on every call, whatever happens next, so that
        # later calls' draws do not depend on which modes applied.
        if self._rng.random() >= self.spec.rate:
            return result
        order = self._modes[:]
        self._rng.shuffle(order)
        for corrupt in order:
            corrupted = corrupt(result, self._rng, self)
            if corrupted is not None:
                return corrupted
        return result

    async def arun(self, text: str) -> ToolResult:
        return await asyncio.to_thread(self.run, text)


def with_faults(
    tools: ToolRegistry, specs: Iterable[FaultSpec], *, seed: int | str
) -> ToolRegistry:
    """A registry where each tool named in ``specs`` is wrapped; the others are unchanged."""
    by_tool = {spec.tool: spec for spec in specs}
    missing = set(by_tool) - set(tools.names)
    if missing:
        raise ConfigError(
            f"a fault is set for {', '.join(sorted(missing))}, which the generator does not "
            f"have (its tools: {', '.join(tools.names) or 'none'})"
        )
    return ToolRegistry(
        FaultyTool(tool, by_tool[tool.name], seed=seed) if tool.name in by_tool else tool
        for tool in tools
    )
