"""The polls example is what a third party can write from docs/plugins.md: of the host it imports only the
public toolkit, of other plugins only the user plugin's contract, and every name it takes is exported."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

from tests.support.processes import REPO_ROOT

PACKAGE = REPO_ROOT / "examples" / "polls-plugin" / "wealist_polls"
PUBLIC = {"wealist_core", "wealist_core.http", "wealist_core.pagination"}
#: What a migrations folder uses, as docs/plugins.md shows (run_env, create_outbox_table).
MIGRATIONS = {"wealist_core.migrations"}
CONTRACTS = {"wealist_plugins.user.contract"}


def _imports(path: Path) -> Iterator[tuple[str, list[str]]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names]


def _files() -> list[tuple[Path, bool]]:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 5, "the example's modules are not where the test looks"
    return [(path, "migrations" in path.relative_to(PACKAGE).parts) for path in files]


def test_the_example_imports_only_the_public_toolkit_and_the_user_contract() -> None:
    for path, in_migrations in _files():
        allowed = PUBLIC | CONTRACTS | (MIGRATIONS if in_migrations else set())
        for module, _names in _imports(path):
            if module.split(".", 1)[0] in ("wealist_core", "wealist_plugins", "wealist_adapters"):
                assert module in allowed, f"{path.relative_to(PACKAGE)} imports {module}"


def test_every_name_the_example_imports_from_wealist_is_exported_in_all() -> None:
    for path, _in_migrations in _files():
        for module, names in _imports(path):
            if module not in PUBLIC | MIGRATIONS | CONTRACTS:
                continue
            exported = set(importlib.import_module(module).__all__)
            missing = sorted(set(names) - exported)
            assert not missing, f"{path.relative_to(PACKAGE)}: {missing} are not in {module}.__all__"
            assert not [name for name in names if name.startswith("_")], f"{path.name} takes a private name"
