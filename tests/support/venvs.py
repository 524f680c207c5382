"""Fresh virtual environments with Wealist and example plugins installed from their sources, the way a user
installs them: ``pip install`` into a plain ``python -m venv``.

The environment has no system or project site-packages: what a test sees is exactly what pip installed from
the distributions' metadata, so a missing dependency, a wrong entry point, migrations left out of a wheel or
an import from a private module of the host fails there. Every project is copied into the temporary folder
first, so the build leaves no ``build/`` or ``*.egg-info`` in the working tree. With this machine's package
indexes the set-up takes about 30 seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT

__all__ = ["copy_wealist_source", "fresh_venv", "run", "venv_env"]

_BUILD_LITTER = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")


def copy_wealist_source(dest: Path) -> Path:
    """The files ``pyproject.toml`` builds from, and nothing else (no .venv, tests, frontend, ...)."""
    pyproject = REPO_ROOT / "pyproject.toml"
    config = tomllib.loads(pyproject.read_text())
    dest.mkdir(parents=True)
    shutil.copy2(pyproject, dest)
    for folder in sorted(set(config["tool"]["setuptools"]["package-dir"].values())):
        shutil.copytree(REPO_ROOT / folder, dest / folder, ignore=_BUILD_LITTER)
    readme = config["project"].get("readme")
    if isinstance(readme, str) and (REPO_ROOT / readme).exists():
        shutil.copy2(REPO_ROOT / readme, dest)
    return dest


def venv_env(data_dir: Path, **values: str) -> dict[str, str]:
    """This environment without WEALIST_* (hermetic) nor PYTHONPATH (which would reach the repository's
    own copy of wealist_core and hide a packaging mistake)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WEALIST_") and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    env.update(PYTHONUNBUFFERED="1", WEALIST_DATA_DIR=str(data_dir), WEALIST_ENVIRONMENT="test", **values)
    return env


def run(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run ``command`` to completion; its standard output, or the test fails with both outputs."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        pytest.fail(f"{' '.join(command)} exited with {result.returncode}:\n{output}", pytrace=False)
    return result.stdout


def fresh_venv(root: Path, *projects: Path) -> Path:
    """A new virtual environment in ``root/venv`` with wealist and ``projects`` (folders of
    distributions, such as ``examples/hello-plugin``) installed from copies of their sources."""
    sources = [copy_wealist_source(root / "wealist")]
    for project in projects:
        sources.append(root / project.name)
        shutil.copytree(project, sources[-1], ignore=_BUILD_LITTER)
    env = venv_env(root / "data")
    # sys.executable is the project's virtualenv: venv builds the new one on its base interpreter, so
    # nothing of the project's environment is inherited.
    run([sys.executable, "-m", "venv", str(root / "venv")], cwd=root, env=env, timeout=120)
    python = root / "venv" / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"]
    run([*pip, *map(str, sources)], cwd=root, env=env, timeout=900)
    return root / "venv"
