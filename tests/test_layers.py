"""The package's shape, read from its source: layers, private names, cycles, docstrings.

ARCHITECTURE.md draws the layers; these tests keep the code to the drawing.
Every import counts, including those inside functions and under
``TYPE_CHECKING``: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "looplab"

LAYERS: dict[str, float] = {
    # the commands and what only they use
    "cli": 9,
    "evals": 9,  # re-exports for scripts written against 0.1; nothing inside imports it
    # measuring
    "studies": 8,
    "verifiers": 7.5,  # learned verifiers fit on runs (the studies and the cli use them)
    "exports": 8,
    "report": 7,
    "metrics": 6,
    "runs": 5,
    "tasks": 4,
    # loops
    "graphs": 3,
    "agents": 2,
    "perturb": 2,
    "tools": 1,
    "prompts": 0.5,  # prompt templates and the requests built from them
    # the bottom: models and the security boundary
    "llm": 0,
    "sandbox": 0,
}
"""Package (or top-level module) -> its layer. A package imports only from lower layers,
never from a peer; the shared modules below are under all of them."""

SHARED = {"records", "answers", "errors", "steps", "files", "_lazy"}
"""Top-level modules every layer may import (they import only each other)."""


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


MODULES = _modules()


def _is_package(module: str) -> bool:
    return (PACKAGE.parent / module.replace(".", "/") / "__init__.py").exists()


def _imports(module: str, tree: ast.Module) -> list[tuple[str, str | None, int]]:
    """(module imported, name imported from it or None, line) for every import."""
    found = []
    package = module if _is_package(module) else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                found.append((base, alias.name, node.lineno))
    return [(m, n, line) for m, n, line in found if m == "looplab" or m.startswith("looplab.")]


def _unit(module: str) -> str:
    """The layer unit a module belongs to: its top-level package or top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "looplab"


def _target(imported: str, name: str | None) -> str:
    """The module an import reaches: ``from looplab import records`` reaches records."""
    if name is not None and f"{imported}.{name}" in MODULES:
        return f"{imported}.{name}"
    return imported


def _edges() -> list[tuple[str, str, str | None, int]]:
    return [
        (module, _target(imported, name), name, line)
        for module, tree in MODULES.items()
        for imported, name, line in _imports(module, tree)
    ]


def test_every_package_is_placed_in_a_layer() -> None:
    units = {_unit(m) for m in MODULES} - {"looplab", "__main__"}
    assert units - LAYERS.keys() - SHARED == set()


def wrong_layers() -> list[str]:
    wrong = []
    for module, target, _, line in _edges():
        source, reached = _unit(module), _unit(target)
        if source == reached or reached in SHARED or target == "looplab":
            continue
        if source in SHARED:
            wrong.append(f"{module}:{line} (shared) imports {target}")
        elif reached not in LAYERS or LAYERS[reached] >= LAYERS[source]:
            wrong.append(f"{module}:{line} imports {target} (not a lower layer)")
    return wrong


def private_reaches() -> list[str]:
    wrong = []
    for module, target, name, line in _edges():
        if target == "looplab._lazy":  # the packages' own machinery for lazy names
            continue
        same_unit = _unit(module) == _unit(target)
        private_module = any(part.startswith("_") for part in target.split(".")[1:])
        imports_module = name is not None and target.endswith(f".{name}")
        private_name = name is not None and name.startswith("_") and not imports_module
        if not same_unit and (private_module or private_name):
            wrong.append(f"{module}:{line} imports {target}.{name or ''}")
        elif same_unit and private_name and not name.startswith("__"):
            wrong.append(f"{module}:{line} imports the private {target}.{name}")
    return wrong


def mutual_imports() -> list[str]:
    graph: dict[str, set[str]] = {}
    for module, target, _, _ in _edges():
        if target != module and target in MODULES:
            graph.setdefault(module, set()).add(target)
    # a package's __init__ gathering its modules' names is not a dependency of theirs
    cycles = sorted(
        f"{a} <-> {b}"
        for a, targets in graph.items()
        for b in targets
        if a < b and a in graph.get(b, set())
    )
    return cycles


def test_no_package_folder_holds_more_than_a_fifth_of_the_code() -> None:
    lines = {
        path: len(path.read_text(encoding="utf-8").splitlines()) for path in PACKAGE.rglob("*.py")
    }
    total = sum(lines.values())
    share = {
        folder.name: sum(n for path, n in lines.items() if folder in path.parents) / total
        for folder in PACKAGE.iterdir()
        if folder.is_dir() and (folder / "__init__.py").exists()
    }
    assert {name: round(s, 3) for name, s in share.items() if s > 0.20} == {}, share


def _public_definitions(module: str, tree: ast.Module) -> list[str]:
    exported = None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            and isinstance(node.value, (ast.List, ast.Tuple))
        ):
            exported = {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    missing = []
    body = tree.body
    for i, node in enumerate(body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name.startswith("_") or (exported is not None and node.name not in exported):
                continue
            if ast.get_docstring(node) is None:
                missing.append(f"{module}.{node.name}")
            if isinstance(node, ast.ClassDef):
                missing += _undocumented_methods(module, node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not isinstance(target, ast.Name) or exported is None:
                    continue
                if target.id not in exported or target.id.startswith("_"):
                    continue
                following = body[i + 1] if i + 1 < len(body) else None
                documented = (
                    isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)
                )
                if not documented:
                    missing.append(f"{module}.{target.id}")
    return missing


PROGRAMS = {
    "looplab.sandbox.runner_program",
    "looplab.sandbox.harness_program",
    "looplab.tools._calc_worker",
    "looplab.tools._html_worker",
    "looplab.tasks._math_worker",
}
"""Programs run in another process (the sandbox, the tools' workers): not an API."""


@cache
def _protocol_methods() -> frozenset[str]:
    """Methods documented on a protocol or abstract base: an implementation inherits the
    docstring (as ``inspect.getdoc`` does for subclasses)."""
    found = set()
    for tree in MODULES.values():
        for cls in ast.walk(tree):
            if not isinstance(cls, ast.ClassDef):
                continue
            bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in cls.bases}
            if bases & {"Protocol", "ABC"}:
                found |= {
                    node.name
                    for node in cls.body
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and ast.get_docstring(node)
                }
    return frozenset(found)


def _undocumented_methods(module: str, cls: ast.ClassDef) -> list[str]:
    missing = []
    inherited = _protocol_methods()
    for node in cls.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if node.name.startswith("_") or node.name in inherited:
            continue
        if ast.get_docstring(node) is None:
            missing.append(f"{module}.{cls.name}.{node.name}")
    return missing


def undocumented() -> list[str]:
    missing = [
        name
        for module, tree in MODULES.items()
        if not module.startswith("looplab.cli")  # commands document themselves in --help
        and module not in PROGRAMS
        for name in _public_definitions(module, tree)
    ]
    return missing


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _is_package(m)))
def test_every_package_says_what_it_holds(module: str) -> None:
    assert ast.get_docstring(MODULES[module]), f"{module} has no docstring"


def test_imports_point_down_the_layers() -> None:
    assert wrong_layers() == []


def test_no_module_reaches_into_another_packages_private_names() -> None:
    assert private_reaches() == []


def test_no_two_modules_import_each_other() -> None:
    assert mutual_imports() == []


def test_every_public_name_has_a_docstring() -> None:
    assert undocumented() == []


def test_tests_and_benchmarks_use_public_names_only() -> None:
    """What a test or a benchmark imports is what a user can import."""
    root = PACKAGE.parent
    wrong = []
    for path in sorted([*root.glob("tests/**/*.py"), *root.glob("benchmarks/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith(
                "looplab"
            ):
                continue
            private_module = any(part.startswith("_") for part in node.module.split("."))
            private_names = [a.name for a in node.names if a.name.startswith("_")]
            if private_module or private_names:
                wrong.append(f"{path.relative_to(root)}:{node.lineno} {node.module}")
    assert wrong == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _is_package(m)))
def test_every_exported_name_resolves(module: str) -> None:
    """A package's ``__all__`` is what it gives: each name there is the object its module
    defines (a lazy name shadowed by the package's own globals would hide it)."""
    import __future__

    import importlib

    package = importlib.import_module(module)
    for name in getattr(package, "__all__", []):
        value = getattr(package, name)
        assert not isinstance(value, __future__._Feature), f"{module}.{name}"
