"""The wheel ships what a plugin project needs beyond the modules: ``py.typed``, every plugin's migrations,
the migration template, the test toolkit, and the entry points.

The build runs on a copy of the sources, so it leaves no ``build/`` in the working tree; pip builds it in an
isolated environment with the setuptools ``pyproject.toml`` asks for (about 10 seconds here).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGE_DIR: dict[str, str] = CONFIG["tool"]["setuptools"]["package-dir"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The names of the files in a wheel built from the sources."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    source.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", source)
    shutil.copy2(ROOT / "README.md", source)
    litter = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for folder in sorted(set(PACKAGE_DIR.values())):
        shutil.copytree(ROOT / folder, source / folder, ignore=litter)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check"]
    result = subprocess.run(
        [*command, str(source), "-w", str(root / "out")], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    [built] = (root / "out").glob("wealist-*.whl")
    with zipfile.ZipFile(built) as archive:
        return set(archive.namelist())


def test_every_top_level_package_ships_py_typed(wheel: set[str]) -> None:
    assert {f"{name}/py.typed" for name in PACKAGE_DIR} <= wheel


def test_every_plugin_ships_its_migrations(wheel: set[str]) -> None:
    for folder in sorted((ROOT / "plugins").glob("*/migrations")):
        for path in folder.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                name = f"wealist_plugins/{path.relative_to(ROOT / 'plugins').as_posix()}"
                assert name in wheel, f"{name} is not in the wheel"


def test_the_toolkit_and_the_migration_template_ship(wheel: set[str]) -> None:
    assert {
        "wealist_core/migration_template/script.py.mako",
        "wealist_core/testing/__init__.py",
        "wealist_core/testing/fixtures.py",
        "wealist_plugins/user/testing.py",
        "wealist_plugins/auth/testing.py",
    } <= wheel
    assert any(name.endswith(".dist-info/entry_points.txt") for name in wheel)
