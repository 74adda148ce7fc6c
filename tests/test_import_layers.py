"""Imports run one way through the package: core <- content <- terminology, rules <- bundle <- fhir <- the
ways in (server, CLI, bulk, web, package). Read from the source (every `import` and `from ... import`), so
a module that reaches up a layer, or two packages that import each other, fail here by name."""

from __future__ import annotations

import ast
from collections import defaultdict

from conftest import ROOT

PACKAGE = ROOT / "plugin" / "ipg_validator"
# Each part may import only parts of a lower layer (and itself).
LAYERS: dict[str, int] = {
    "core": 0,
    "content": 1, "settings": 1,
    "terminology": 2, "rules": 2,
    "bundle": 3,
    "fhir": 4,
    "bulk": 5, "web": 5, "package": 5,
    "server": 6, "spark": 6,
    "cli": 7,
    "__init__": 8,
}


def imports() -> dict[tuple[str, str], set[str]]:
    """(importing part, imported part) -> the modules where that import is written."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        part = rel.parts[0].removesuffix(".py")
        folder = list(rel.parts[:-1])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[list[str]] = []
            if isinstance(node, ast.ImportFrom) and node.level:
                base = folder[: len(folder) - (node.level - 1)] if node.level > 1 else folder
                names.append(base + (node.module.split(".") if node.module else []))
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ipg_validator."):
                names.append(node.module.split(".")[1:])
            elif isinstance(node, ast.Import):
                names += [a.name.split(".")[1:] for a in node.names if a.name.startswith("ipg_validator.")]
            for name in names:
                if name and name[0] != part:
                    found[(part, name[0])].add(str(rel))
    return found


def test_every_part_has_a_layer() -> None:
    parts = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())}
    assert parts == set(LAYERS), (parts - set(LAYERS), set(LAYERS) - parts)


def test_imports_only_go_down() -> None:
    upward = {f"{a} -> {b}": sorted(where) for (a, b), where in imports().items()
              if LAYERS[b] >= LAYERS[a]}
    assert not upward, upward


def test_core_imports_nothing_of_the_package() -> None:
    assert not [pair for pair in imports() if pair[0] == "core"]


def test_no_two_parts_import_each_other() -> None:
    pairs = set(imports())
    assert not sorted(f"{a} <-> {b}" for a, b in pairs if (b, a) in pairs and a < b)


def test_no_module_cycle_inside_a_part() -> None:
    """Within a part too (the command line was three modules importing each other): module imports form no cycle."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        name = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        folder = list(rel.parts[:-1])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level and node.col_offset == 0:  # module level: what runs at import
                base = folder[: len(folder) - (node.level - 1)] if node.level > 1 else folder
                target = ".".join(base + (node.module.split(".") if node.module else []))
                for alias in node.names if not node.module else [None]:
                    graph[name].add(f"{target}.{alias.name}".lstrip(".") if alias else target)
    modules = {".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__") for p in PACKAGE.rglob("*.py")}
    edges = {a: {b for b in bs if b in modules and b != a} for a, bs in graph.items()}
    seen: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        seen[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if seen.get(nxt) == 1:
                return trail + [node, nxt]
            if nxt not in seen and (found := visit(nxt, trail + [node])):
                return found
        seen[node] = 2
        return None

    for module in sorted(edges):
        if module not in seen:
            cycle = visit(module, [])
            assert cycle is None, " -> ".join(cycle)
