"""The example plugin is what a third party can write: it imports the host only through its public
surface (the ``wealist_core`` root and ``wealist_core.http``), and that surface is enough for it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from tests.support.processes import REPO_ROOT

PUBLIC = {"wealist_core", "wealist_core.http"}
PACKAGE = REPO_ROOT / "examples" / "hello-plugin" / "wealist_hello"


def _host_imports(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return {m for m in modules if m.split(".", 1)[0] == "wealist_core"}


def test_the_example_imports_only_the_public_surface_of_the_host() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert files
    used = set().union(*(_host_imports(path) for path in files))
    assert used, "the example no longer imports the host at all"
    assert used <= PUBLIC, f"private host modules imported: {sorted(used - PUBLIC)}"


def test_every_name_the_example_imports_is_exported_in_all() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module in PUBLIC:
                exported = set(importlib.import_module(node.module).__all__)
                names = {alias.name for alias in node.names}
                missing = sorted(names - exported)
                assert not missing, f"{path.name}: {missing} are not in {node.module}.__all__"
