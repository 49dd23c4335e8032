"""The package's imports flow one way, along the pipeline: no module imports a later stage.

Every import is read from the source (module level, inside functions and under
``TYPE_CHECKING`` alike), so a lazy import cannot hide a circle. The convenience
methods of early stages reach later ones through ``symgrad.hooks``, which imports no
stage at all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "symgrad"

#: The stages in pipeline order; a module may import its own stage and earlier ones.
STAGES = ["base", "model", "derive", "compile", "crosscheck", "present", "verification", "use"]
_BASE = {"_version", "errors", "progress", "template_loader", "hooks"}
_USE = {"train", "cli", "__main__", "__init__"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def _stage(module: str) -> str:
    head = module.split(".")[0]
    if head in _BASE:
        return "base"
    if head in _USE:
        return "use"
    assert head in STAGES, f"symgrad.{module} is in no stage; add its folder to STAGES"
    return head


def _imports(path: Path, module: str) -> set[str]:
    """The symgrad modules ``path`` imports, as names relative to the package."""
    package = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    if module == "__init__":
        package = []
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "symgrad":
                target = node.module.split(".")[1:]
            else:
                continue
            names = [alias.name for alias in node.names]
            candidates = [".".join(target + [n]) for n in names] if not node.module or node.level else []
            resolved = [c for c in candidates if _exists(c)]
            found |= set(resolved) if resolved else ({".".join(target)} if target else set())
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("symgrad."):
                    found.add(alias.name[len("symgrad."):])
    return {m for m in found if m and _exists(m)}


def _exists(module: str) -> bool:
    path = PACKAGE.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        graph[module] = _imports(path, module) - {module}
    return graph


def test_no_module_imports_a_later_stage():
    backward = [
        f"symgrad.{a} ({_stage(a)}) imports symgrad.{b} ({_stage(b)})"
        for a, targets in _graph().items()
        for b in targets
        if STAGES.index(_stage(b)) > STAGES.index(_stage(a))
    ]
    assert not backward, "\n".join(backward)


def test_no_import_circles():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                pytest.fail("import circle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_hooks_import_no_stage():
    assert _graph()["hooks"] <= {"errors"}


def test_the_walk_sees_lazy_and_type_checking_imports(tmp_path):
    # The checks above are worth something only if an import inside a function, or
    # under TYPE_CHECKING, counts like one at the top of the module.
    fake = tmp_path / "network.py"
    fake.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ..present.latex import expr_latex\n"
        "def f():\n    from ..compile.pipeline import compile_network\n"
        "    from .. import hooks\n"
    )
    assert _imports(fake, "model.network") == {"present.latex", "compile.pipeline", "hooks"}
