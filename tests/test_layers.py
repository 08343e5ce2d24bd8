"""The library's layers: no import cycle among icpkit's modules.

The graph holds the imports a module runs when it is first imported: its
top-level ``import`` and ``from ... import`` statements (also inside top-level
``if``/``try``), not those inside functions or under ``if TYPE_CHECKING:``.
Importing ``a.b.c`` also runs the packages ``a.b`` it sits in, unless the
importer is inside them already.

An import deferred into a function hides a cycle from Python but not from the
reader; those are checked too, with the few that are deliberate listed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import icpkit

SRC = Path(icpkit.__file__).resolve().parent
REPORT_SECTIONS = (
    "icpkit.mining.deal_report",
    "icpkit.personas.report",
    "icpkit.validation",
    "icpkit.validation.report",
    "icpkit.voc.report",
)
# Deferred imports that close a cycle on purpose (importer, imported).
DEFERRED_CYCLES = {
    # the report collects the subjects' sections, and each section is built from report.data
    *(("icpkit.report.data", m) for m in REPORT_SECTIONS),
    ("icpkit.validation", "icpkit.validation.report"),
    # a Section's html/markdown properties render it through the one renderer
    ("icpkit.report.data", "icpkit.report.render"),
}


def module_names(root: Path = SRC) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = ["icpkit", *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(body: list[ast.stmt], deferred: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements run on import, and with ``deferred`` those inside functions too."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports(node.orelse, deferred)
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)) or (
            deferred and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        ):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ExceptHandler):
                    yield from _imports(child.body, deferred)
            for field in ("body", "orelse", "finalbody"):
                yield from _imports(getattr(node, field, []), deferred)
        elif isinstance(node, ast.ClassDef):
            yield from _imports(node.body, deferred)  # a class body runs on import


def import_graph(root: Path = SRC, *, deferred: bool = False) -> dict[str, set[str]]:
    """Module -> the icpkit modules its first import runs (with ``deferred``: that it ever runs)."""
    mods = module_names(root)
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        package = name if is_pkg else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8")).body, deferred):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            targets.add(base)
            targets.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in mods)
        edges: set[str] = set()
        for t in targets:
            parts = t.split(".")
            for i in range(2, len(parts) + 1):  # the target and the packages it sits in
                m = ".".join(parts[:i])
                if m in mods and m != name and not name.startswith(m + "."):
                    edges.add(m)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def _path(graph: dict[str, set[str]], comp: list[str]) -> str:
    """One import loop through a cycle's first module, for the message."""
    start, members = comp[0], set(comp)
    prev: dict[str, str] = {}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                loop = [v]
                while loop[-1] != start:
                    loop.append(prev[loop[-1]])
                return " -> ".join([*reversed(loop), start])
            if w not in prev:
                prev[w] = v
                todo.append(w)
    return " -> ".join(comp)


def test_the_graph_sees_relative_absolute_and_package_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from .sub import b\n"
        "if TYPE_CHECKING:\n    from . import c\n"
        "def f():\n    from . import c\n"
        "    from . import d\n"
    )
    (pkg / "d.py").write_text("try:\n    import icpkit.a\nexcept ImportError:\n    pass\n")
    (pkg / "sub" / "__init__.py").write_text("from .b import g\n")
    (pkg / "sub" / "b.py").write_text("import icpkit.c\ndef g(): ...\n")
    (pkg / "c.py").write_text("from icpkit.a import x\n")
    graph = import_graph(pkg)
    assert graph["icpkit.a"] == {"icpkit.sub", "icpkit.sub.b"}
    assert graph["icpkit.sub"] == {"icpkit.sub.b"}
    assert graph["icpkit.sub.b"] == {"icpkit.c"}
    assert graph["icpkit.c"] == {"icpkit.a"}
    assert cycles(graph) == [["icpkit.a", "icpkit.c", "icpkit.sub", "icpkit.sub.b"]]
    assert _path(graph, cycles(graph)[0]).startswith("icpkit.a -> ")
    assert graph["icpkit.d"] == {"icpkit.a"}
    full = import_graph(pkg, deferred=True)
    assert full["icpkit.a"] == {"icpkit.sub", "icpkit.sub.b", "icpkit.c", "icpkit.d"}
    assert ["icpkit.a", "icpkit.d"] not in cycles(graph)
    assert any({"icpkit.a", "icpkit.d"} <= set(c) for c in cycles(full))


def test_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 50 and "icpkit.personas.profiles" in graph["icpkit.personas.hooks"]
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(_path(graph, c) for c in found)


def test_no_cycle_hidden_by_a_deferred_import():
    graph = import_graph(deferred=True)
    missing = {e for e in DEFERRED_CYCLES if e[1] not in graph.get(e[0], set())}
    assert not missing, f"listed but no longer imported: {sorted(missing)}"
    for a, b in DEFERRED_CYCLES:
        graph[a].discard(b)
    found = cycles(graph)
    assert not found, "import cycles through deferred imports:\n" + "\n".join(
        _path(graph, c) for c in found
    )
