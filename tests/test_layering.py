"""The layering as a test (docs/architecture.md "Layers").

Every module of the project's apps is parsed (ast, not imported), every import it makes —
at the top or inside a function, absolute or relative — is resolved to a project module, and:

* an import may not go up the layers: common ← accounts, tenancy ← ambassadors ← campaigns ←
  tracking ← rewards ← reports ← notifications, integrations ← portal ← demo, config;
* a service, selector, model or task may not import the HTTP layer (views, api, forms,
  serializers, urls), so the writes stay callable from anywhere;
* no import cycle between modules (a lazy import inside a function hides a cycle from Python,
  not from this test).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lower number = lower layer. Apps on one layer may import each other (no cycles, still).
LAYERS = {
    "common": 0,
    "accounts": 1, "tenancy": 1,
    "ambassadors": 2,
    "campaigns": 3,
    "tracking": 4,
    "rewards": 5,
    "reports": 6,
    "notifications": 7, "integrations": 7,
    "portal": 8,
    "demo": 9, "config": 9,
}
HTTP_PARTS = {"views", "api", "forms", "serializers", "urls", "api_urls", "org_urls"}
NON_HTTP_PARTS = {"services", "selectors", "models", "tasks", "tasking"}


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted name → file, for every module of the layered apps (migrations left out)."""
    modules = {}
    for app in LAYERS:
        base = root / app
        if not base.is_dir():
            continue
        for path in base.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            if "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _is_package(name: str, modules: dict[str, Path]) -> bool:
    return name in modules and modules[name].name == "__init__.py"


def imports_of(name: str, source: str, modules: dict[str, Path]) -> list[tuple[str, int]]:
    """The project modules `name` imports, with the line of each import."""
    package = name if _is_package(name, modules) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[:len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from x import y`: y is a module when x/y.py exists, else a name in x.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a name: its closest module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.append((target, node.lineno))
    return found


def import_graph(modules: dict[str, Path], sources: dict[str, str] | None = None) -> dict[str, list[tuple[str, int]]]:
    sources = sources or {}
    return {name: imports_of(name, sources.get(name) or path.read_text(), modules) for name, path in modules.items()}


def layer_of(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def layering_problems(graph: dict[str, list[tuple[str, int]]]) -> list[str]:
    problems = []
    for module, targets in sorted(graph.items()):
        parts = set(module.split(".")[1:])
        for target, line in targets:
            if layer_of(target) > layer_of(module):
                problems.append(f"{module}:{line} imports {target}, a higher layer")
            target_parts = set(target.split(".")[1:])
            if parts & NON_HTTP_PARTS and not parts & HTTP_PARTS and target_parts & HTTP_PARTS:
                problems.append(f"{module}:{line} imports {target}, the HTTP layer")
    return problems


def cycles(graph: dict[str, list[tuple[str, int]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    edges = {module: sorted({target for target, _ in targets}) for module, targets in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(edges.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


# --- the tests -------------------------------------------------------------------------------------

def test_every_app_is_placed_in_a_layer():
    apps = {path.parent.name for path in ROOT.glob("*/apps.py")}
    assert apps - set(LAYERS) == set()


def test_imports_only_go_down_and_services_never_import_http():
    assert layering_problems(import_graph(project_modules())) == []


def test_no_import_cycles_between_modules():
    assert [" ↔ ".join(component) for component in cycles(import_graph(project_modules()))] == []


def test_the_checks_catch_what_they_are_for():
    """A deliberate upward import, a service importing a view and a lazy cycle are all caught."""
    modules = project_modules()
    sources = {
        "campaigns.models": modules["campaigns.models"].read_text() + "\nfrom reports import periods\n",
        "campaigns.services": modules["campaigns.services"].read_text() + "\nfrom campaigns.views import *\n",
        "tenancy.scoping": modules["tenancy.scoping"].read_text()
        + "\ndef late():\n    from tenancy import roles\n",
        "tenancy.roles": modules["tenancy.roles"].read_text() + "\nfrom tenancy import scoping\n",
    }
    graph = import_graph(modules, sources)
    problems = layering_problems(graph)
    assert any(p.startswith("campaigns.models:") and "imports reports.periods, a higher layer" in p
               for p in problems)
    assert any(p.startswith("campaigns.services:") and "imports campaigns.views, the HTTP layer" in p
               for p in problems)
    assert any({"tenancy.roles", "tenancy.scoping"} <= set(component) for component in cycles(graph))


def test_relative_and_dotted_imports_resolve_to_modules():
    modules = {"tracking": Path("tracking/__init__.py"), "tracking.services": Path("tracking/services/__init__.py"),
               "tracking.services.imports": Path("tracking/services/imports.py"),
               "tracking.tasks": Path("tracking/tasks.py"), "tracking.models": Path("tracking/models.py")}
    source = ("from . import imports\nfrom ..models import Customer\nimport tracking.tasks\n"
              "from tracking.services import imports as x, missing\n")
    targets = {target for target, _ in imports_of("tracking.services.attribution", source, modules)}
    assert targets == {"tracking.services.imports", "tracking.models", "tracking.tasks", "tracking.services"}


def test_the_graph_sees_lazy_imports():
    modules = {"a": Path("a/__init__.py"), "a.x": Path("a/x.py"), "a.y": Path("a/y.py")}
    graph = {"a.x": imports_of("a.x", "def f():\n    from a import y\n", modules), "a.y": [("a.x", 1)], "a": []}
    assert cycles(graph) == [["a.x", "a.y"]]
