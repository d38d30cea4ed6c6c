"""Prompts are package data (``looplab/prompts/*.txt``) rendered strictly.

A template names its fields in braces; rendering with a missing or an unused
field is an error, so a prompt can never silently lose a part.
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from looplab.answers import answer_format, answer_kind, is_code_family
from looplab.llm import Message

if TYPE_CHECKING:
    from looplab.records import TaskView

__all__ = [
    "answer_example",
    "choices_block",
    "load_prompt",
    "render_prompt",
    "repair_request",
    "solve_messages",
    "task_request",
]


@cache
def load_prompt(name: str) -> str:
    """The text of ``looplab/prompts/NAME.txt``."""
    return resources.files("looplab").joinpath("prompts", f"{name}.txt").read_text("utf-8")


def render_prompt(name: str, **fields: str) -> str:
    """Fill a prompt's fields; every field must be given and every given field used."""
    template = load_prompt(name)
    wanted = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    if wanted != set(fields):
        missing, extra = sorted(wanted - set(fields)), sorted(set(fields) - wanted)
        raise ValueError(f"prompt {name!r}: missing fields {missing}, unused fields {extra}")
    return template.format(**fields).strip()


def task_request(task: TaskView) -> str:
    """The user turn that asks the generator for a task: its prompt, and for code the
    visible tests it must pass. Loops and training-data exports both use it."""
    if task.visible_tests and is_code_family(task.family):
        return f"{task.prompt}\n\nIt must pass these tests:\n```python\n{task.visible_tests}\n```"
    if task.choices:
        return f"{task.prompt}\n\n{choices_block(task.choices)}"
    return task.prompt


def choices_block(choices: list[str]) -> str:
    """A multiple-choice task's choices as the prompt lists them: lettered in the order the
    task gives them (A, B, ...), one per line."""
    lines = [f"{chr(ord('A') + i)}. {choice}" for i, choice in enumerate(choices)]
    return "Choices:\n" + "\n".join(lines)


def answer_example(family: str) -> list[Message]:
    """One worked example of ``family``'s answer convention as a user and an assistant turn;
    none for code (small models copy examples)."""
    if is_code_family(family):
        return []
    example = load_prompt(answer_kind(family).example)
    question, answer = (part.strip() for part in example.split("---"))
    return [Message(role="user", content=question), Message(role="assistant", content=answer)]


def solve_messages(task: TaskView) -> list[Message]:
    """A model's request to answer ``task`` with no tools: the answer convention, one
    worked example of it (not for code: small models copy examples), then the task.
    The generator without tools asks exactly this; a critic that samples answers too."""
    system = render_prompt("solve_system", answer_format=answer_format(task.family))
    return [
        Message(role="system", content=system),
        *answer_example(task.family),
        Message(role="user", content=task_request(task)),
    ]


def repair_request(family: str, feedback: str) -> str:
    """The user turn that asks for a repair after ``feedback`` (the critic's, the tests')."""
    return render_prompt(
        "repair_request",
        feedback=feedback or "(no details given)",
        answer_format=answer_format(family),
    )
