"""Names a package exports but imports on first use (PEP 562).

A command should pay only for the imports it uses: ``looplab report`` never
needs LangGraph or the model SDKs, a run without a calculator never needs
sympy. A package lists ``name -> private module`` and gets the module-level
``__getattr__`` and ``__dir__`` from ``lazy_exports``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: dict[str, str], public: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps each lazily
    imported name to the submodule (``_store``) that defines it, or to another
    package (``looplab.runs``) for a name re-exported from there."""
    namespace = import_module(package).__dict__
    listed = sorted(public)

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        where = f"{package}.{module}" if module.startswith("_") else module
        value = getattr(import_module(where), name)
        namespace[name] = value  # the next access is a plain lookup
        return value

    def __dir__() -> list[str]:
        return listed

    return __getattr__, __dir__
