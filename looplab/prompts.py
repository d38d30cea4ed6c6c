"""Prompts are package data (``looplab/prompts/*.txt``) rendered strictly.

A template names its fields in braces; rendering with a missing or an unused
field is an error, so a prompt can never silently lose a part.
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources

__all__ = ["load_prompt", "render_prompt"]


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
