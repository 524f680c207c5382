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
    plugins = sorted(p.parent for p in (ROOT / "plugins").glob("*/migrations") if p.is_dir())
    assert {"user", "auth"} <= {folder.name for folder in plugins}
    for folder in plugins:
        patterns = rules.get(f"wealist_plugins.{folder.name}", [])
        for path in (folder / "migrations").rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                relative = path.relative_to(folder).as_posix()
                assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative


def test_every_top_level_package_is_typed() -> None:
    # PEP 561: a py.typed beside the top-level __init__.py covers its subpackages (mypy in plugin projects).
    patterns = SETUPTOOLS["package-data"]["*"]
    assert "py.typed" in patterns
    for import_name, folder in SETUPTOOLS["package-dir"].items():
        assert (ROOT / folder / "py.typed").is_file(), f"{folder}/py.typed is missing ({import_name})"
