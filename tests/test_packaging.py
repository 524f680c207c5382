"""The distribution lists every package of the tree, and its entry points import."""

from __future__ import annotations

import fnmatch
import importlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _package_names() -> set[str]:
    names: set[str] = set()
    for import_name, folder in SETUPTOOLS["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            relative = init.parent.relative_to(base)
            names.add(".".join([import_name, *relative.parts]))
    return names


def test_every_package_of_the_tree_is_listed_in_pyproject() -> None:
    # The folders are mapped to import names, which find-packages cannot express: the list is explicit.
    assert set(SETUPTOOLS["packages"]) == _package_names()


def test_every_entry_point_imports() -> None:
    for group in ("wealist.plugins", "wealist.adapters"):
        for name, target in PYPROJECT["project"]["entry-points"][group].items():
            module_name, _, attr = target.partition(":")
            module = importlib.import_module(module_name)
            assert attr == "" or hasattr(module, attr), f"{group} {name} -> {target}"


def test_migration_files_are_package_data() -> None:
    rules: dict[str, list[str]] = SETUPTOOLS["package-data"]
    for plugin in ("user", "auth"):
        folder = ROOT / "plugins" / plugin
        patterns = rules.get(f"wealist_plugins.{plugin}", [])
        for path in (folder / "migrations").rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                relative = path.relative_to(folder).as_posix()
                assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative
