"""The project's import graph, read statically from every module's source: no circles, no import
hidden inside a function (the usual way a circle is dodged), and the stages depend only forward
(DESIGN.md: streams knows nothing of detection, detector nothing of grids, and so on)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("common", "streams", "detector", "routing", "configs", "models", "aibrain")

# Third-party modules a function may import on first use, and why; nothing of the project's own.
LAZY_IMPORTS = {
    "ultralytics": "an optional extra that pulls in PyTorch: only the model commands and the ultralytics backend "
                   "need it, and the serving path must start without it",
    "onnx": "comes with the Ultralytics extra; only the export check reads an exported file's graph with it",
    "PyNvVideoCodec": "NVIDIA's NVDEC bindings: optional, and need an NVIDIA driver; only a camera with "
                      "decode_device: cuda builds the decoder that imports them",
}

# The project packages each stage may import besides itself; a stage not named here may import any.
ALLOWED_IMPORTS = {
    "common": set(),
    "streams": {"common"},
    "detector": {"common", "streams"},
    "routing": {"common", "streams", "detector"},
    "configs": {"common", "streams", "detector", "routing", "models"},  # anything but the app
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the project module imported
    line: int
    nested: bool  # inside a function or method body


@cache
def modules() -> dict[str, Path]:
    """Every module of the project packages by dotted name; a package by its own name (its __init__)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported_names(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names an import statement loads: `from X import Y` loads X.Y when that is a module, else X."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if modules()[module].name == "__init__.py" else module.split(".")[:-1]
        base = ".".join([*package[:len(package) - node.level + 1], *([base] if base else [])])
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules() else base for alias in node.names]


def project_module(name: str) -> str | None:
    """`name`, or the closest enclosing package of it, if it is the project's."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in modules():
            return ".".join(parts)
        parts.pop()
    return None


def statements(tree: ast.AST, nested: bool = False) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.Import | ast.ImportFrom):
            found.append((child, nested))
        found += statements(child, nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))
    return found


@cache
def imports() -> list[Import]:
    """Every import of a project module, type-checking-only ones too (a circle there is one in the design)."""
    found: list[Import] = []
    for module, path in modules().items():
        for node, nested in statements(ast.parse(path.read_text(encoding="utf-8"))):
            for name in imported_names(module, node):
                target = project_module(name)
                if target is not None and target != module:
                    found.append(Import(module, target, node.lineno, nested))
    return found


def nested_third_party_imports() -> list[tuple[str, str, int]]:
    """(module, imported name, line) of every import inside a function that is not of the project."""
    found = []
    for module, path in modules().items():
        for node, nested in statements(ast.parse(path.read_text(encoding="utf-8"))):
            if nested:
                found += [(module, name, node.lineno) for name in imported_names(module, node)
                          if project_module(name) is None]
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path that ends where it starts, or None."""
    state: dict[str, str] = {}  # "open" while on the path, "done" once every way out was searched
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return [*path[path.index(target):], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[module] = "done"
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_the_import_graph_has_no_circle() -> None:
    graph: dict[str, set[str]] = {}
    for edge in imports():
        graph.setdefault(edge.module, set()).add(edge.target)
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_no_function_imports_a_project_module() -> None:
    nested = sorted({f"{edge.module}:{edge.line} imports {edge.target}" for edge in imports() if edge.nested})
    assert not nested, "imports inside functions (import at the top; break a circle by moving code):\n" + "\n".join(
        nested)


def test_functions_import_only_the_heavy_optional_third_party_modules_on_first_use() -> None:
    unexpected = [f"{module}:{line} imports {name}" for module, name, line in nested_third_party_imports()
                  if name.split(".")[0] not in LAZY_IMPORTS]
    assert not unexpected, "imports inside functions (add to LAZY_IMPORTS only with a reason):\n" + "\n".join(
        unexpected)


def test_the_stages_depend_only_forward() -> None:
    backwards = sorted(f"{edge.module}:{edge.line} imports {edge.target}" for edge in imports()
                       if (allowed := ALLOWED_IMPORTS.get(edge.module.split(".")[0])) is not None
                       and edge.target.split(".")[0] not in {edge.module.split(".")[0], *allowed})
    assert not backwards, "a stage imports a later one:\n" + "\n".join(backwards)


def test_the_walker_sees_circles_and_nested_imports() -> None:
    """The checks above prove something only if the walker finds what they look for."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    tree = ast.parse("import os\ndef f():\n    from aibrain import cli\n")
    assert [(type(node).__name__, nested) for node, nested in statements(tree)] == [("Import", False),
                                                                                  ("ImportFrom", True)]
    [(from_module, _)] = statements(ast.parse("from aibrain.live import metrics"))
    assert imported_names("aibrain.cli", from_module) == ["aibrain.live.metrics"]
    [(relative, _)] = statements(ast.parse("from .supervisor import RoleState"))
    assert imported_names("aibrain.live.metrics", relative) == ["aibrain.live.supervisor"]
