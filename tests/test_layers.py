"""The package layout: no import circles, and nothing below the web layer imports from it.

Read from the source with ``ast`` (imports inside functions count too), so a circle that Python
happens to tolerate at import time still fails here.
"""

import ast
from pathlib import Path

import idp

PACKAGE = Path(idp.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "migrations" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, known: dict[str, Path]) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("idp"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if submodule in known else node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("idp"))
    return {name for name in names if name in known}


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(path, known) - {name} for name, path in known.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_below_the_app_factory():
    graph = _graph()
    # The app factory (idp/__init__.py) wires the CLI, and the CLI makes apps: that one is the
    # composition root, not a layer.
    graph["idp"] = set()
    assert _circles(graph) == []


def test_only_the_web_layer_and_the_factory_import_the_web_layer():
    graph = _graph()
    importers = {name for name, imported in graph.items()
                 if any(other == "idp.web" or other.startswith("idp.web.") for other in imported)}
    outside = {name for name in importers
               if not name.startswith(("idp.web", "idp.cli")) and name != "idp"}
    assert outside == set()


def test_only_the_factory_and_the_handbook_import_the_cli():
    """Commands are a way in, like the web layer: what they do lives below them (the console's
    client registration is idp.clients, not the command's)."""
    graph = _graph()
    importers = {name for name, imported in graph.items()
                 if any(other == "idp.cli" or other.startswith("idp.cli.") for other in imported)}
    assert {name for name in importers if not name.startswith("idp.cli")} <= {"idp", "idp.handbook"}
