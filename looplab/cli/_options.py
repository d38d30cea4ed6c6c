"""The loop's flags, made from ``LoopConfig``/``EvalConfig`` fields: declared once, there.

Each flag's default, help text and bounds are the field's own, so ``looplab
run`` and ``looplab eval`` cannot drift apart. A command lists the flags it
takes as parameters typed with these aliases, then builds its config with
``validated``, which turns a bad value into one line naming the flag.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from annotated_types import Ge, Le

from looplab.runs import EvalConfig

__all__ = ["DEFAULTS", "config_values", "flag"]

DEFAULTS = EvalConfig()
"""Every field's default, for the commands' signatures."""


def flag(name: str, *names: str) -> Any:
    """A ``typer.Option`` for the config field ``name``: its help and bounds."""
    field = EvalConfig.model_fields[name]
    bounds: dict[str, float] = {}
    for rule in field.metadata:
        if isinstance(rule, Ge):
            bounds["min"] = rule.ge
        elif isinstance(rule, Le):
            bounds["max"] = rule.le
    return typer.Option(*names, help=field.description, **bounds)


def config_values(values: dict[str, Any]) -> dict[str, Any]:
    """The config fields among a command's parameters; comma lists become lists."""
    picked = {k: v for k, v in values.items() if k in EvalConfig.model_fields}
    for name in ("tools", "critic_tools", "repair_tools", "faults"):
        if name == "repair_tools" and picked.get(name) is None:
            continue  # not given: the repairs use the generator's tools
        if name in picked and not isinstance(picked[name], list):
            picked[name] = [v.strip() for v in (picked[name] or "").split(",") if v.strip()]
    return picked


Graph = Annotated[str, flag("graph")]
Model = Annotated[str, flag("model", "--model", "-m")]
CriticModel = Annotated[str | None, flag("critic_model")]
Tools = Annotated[str | None, flag("tools")]
CriticTools = Annotated[str | None, flag("critic_tools")]
RepairTools = Annotated[str | None, flag("repair_tools")]
CriticConfidence = Annotated[str, flag("critic_confidence")]
MaxIters = Annotated[int, flag("max_iters")]
MaxTokens = Annotated[int, flag("max_tokens")]
Width = Annotated[int, flag("width")]
Budget = Annotated[int | None, flag("budget")]
Temperature = Annotated[float, flag("temperature")]
Sandbox = Annotated[str, flag("sandbox")]
OracleFlag = Annotated[bool, flag("oracle")]
Feedback = Annotated[str, flag("feedback")]
Stop = Annotated[str, flag("stop")]
ToolSyntax = Annotated[str, flag("tool_syntax")]
RepairModeFlag = Annotated[str, flag("repair_mode")]
Locate = Annotated[str, flag("locate")]
FinderStyle = Annotated[str, flag("finder_style")]
Tasks = Annotated[str, flag("tasks")]
Limit = Annotated[int | None, flag("limit")]
Samples = Annotated[int, flag("samples")]
Seed = Annotated[int, flag("seed")]
Concurrency = Annotated[int, flag("concurrency")]
Faults = Annotated[str | None, flag("faults", "--fault")]
