"""The dependency rule of DESIGN section 1, checked on the imports of every module.

- ``wealist_core`` imports no plugin and no adapter;
- an adapter imports ``wealist_core`` and its own package, never another adapter or a plugin;
- a plugin imports ``wealist_core``, its own package and, of other plugins, only their ``contract`` module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TREES = {
    "wealist_core": ROOT / "wealist_core",
    "wealist_plugins": ROOT / "plugins",
    "wealist_adapters": ROOT / "adapters",
}


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def _modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted(TREES[package].rglob("*.py")):
        parts = path.relative_to(TREES[package]).parts
        yield (parts[0] if len(parts) > 1 else ""), path


def test_the_core_imports_no_plugin_and_no_adapter() -> None:
    for _, path in _modules("wealist_core"):
        bad = [m for m in _imports(path) if m.startswith(("wealist_plugins", "wealist_adapters"))]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("package", ["wealist_adapters", "wealist_plugins"])
def test_adapters_and_plugins_import_only_the_core_and_contracts(package: str) -> None:
    for own, path in _modules(package):
        for module in _imports(path):
            if not module.startswith(("wealist_plugins", "wealist_adapters")):
                continue
            parts = module.split(".")
            if len(parts) == 1 or parts[1] == own:
                continue  # the namespace package itself, or the module's own package
            allowed = (
                package == "wealist_plugins" and parts[0] == "wealist_plugins" and parts[2:] == ["contract"]
            )
            assert allowed, f"{path.relative_to(ROOT)} imports {module}"
