"""lab/ has no import cycle: every import counts, at the top of a module, inside a function (lazy) or under
`if TYPE_CHECKING:`, so a cycle can't hide behind a deferred import. The world is a passive container of data;
the Azure side and the hosts reach each other through narrow ports, not through a module that imports both ways."""

from __future__ import annotations

import ast
from pathlib import Path

LAB = Path(__file__).resolve().parents[2] / "lab"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(LAB.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The lab modules `path` imports, anywhere in the file."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # `from lab.azure import ids` imports the module lab.azure.ids; `from lab.azure.ids import key` the module
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def lab_import_graph() -> dict[str, set[str]]:
    paths = [p for p in LAB.rglob("*.py") if "node_modules" not in p.parts]
    modules = {_module_name(p) for p in paths}
    graph = {_module_name(p): _imports(p, modules) for p in paths}
    # A package's __init__ runs before any of its modules: importing lab.azure.x imports lab.azure. That edge is
    # Python's, not a design choice, and it would make every package that imports its own modules a cycle; it is
    # left out, and so are the packages' edges to their own modules.
    return {module: {t for t in targets if not module.startswith(t + ".") and not t.startswith(module + ".")}
            for module, targets in graph.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_lazy_and_type_checking_imports():
    graph = lab_import_graph()
    assert "lab.azure.state" in graph["lab.registrations"]        # under TYPE_CHECKING
    assert "lab.persist" in graph["lab.cli"]                      # inside a function
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_lab_has_no_import_cycle():
    found = cycles(lab_import_graph())
    assert not found, "import cycles in lab/ (each list is one cycle's modules):\n" + "\n".join(map(str, found))
