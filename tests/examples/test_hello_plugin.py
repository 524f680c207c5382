"""The example third-party plugin, installed the way a user installs one: ``pip install`` into a fresh
virtual environment beside Wealist, then found by ``wealist plugins`` and served by ``wealist serve``.

The environment is a plain ``python -m venv`` (no system or project site-packages): what the test sees is
exactly what pip installed from the two distributions' metadata, so a missing dependency, a wrong entry point
or an import from a private module of the host fails here. Both projects are copied into the temporary folder
first, so the build leaves no ``build/`` or ``*.egg-info`` in the working tree. With this machine's package
indexes the set-up takes about 30 seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import REPO_ROOT, ServerProcess, free_port, start_process

pytestmark = pytest.mark.slow

HELLO_SOURCE = REPO_ROOT / "examples" / "hello-plugin"
_BUILD_LITTER = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")


def _copy_wealist_source(dest: Path) -> Path:
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


def _env(data_dir: Path, **values: str) -> dict[str, str]:
    """This environment without WEALIST_* (hermetic) nor PYTHONPATH (which would reach the repository's
    own copy of wealist_core and hide a packaging mistake)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WEALIST_") and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    env.update(PYTHONUNBUFFERED="1", WEALIST_DATA_DIR=str(data_dir), WEALIST_ENVIRONMENT="test", **values)
    return env


def _run(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        pytest.fail(f"{' '.join(command)} exited with {result.returncode}:\n{output}", pytrace=False)
    return result.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with wealist and wealist-hello installed from their sources."""
    root = tmp_path_factory.mktemp("hello-venv")
    wealist_src = _copy_wealist_source(root / "wealist")
    hello_src = root / "wealist-hello"
    shutil.copytree(HELLO_SOURCE, hello_src, ignore=_BUILD_LITTER)
    env = _env(root / "data")
    # sys.executable is the project's virtualenv: venv builds the new one on its base interpreter, so
    # nothing of the project's environment is inherited.
    _run([sys.executable, "-m", "venv", str(root / "venv")], cwd=root, env=env, timeout=120)
    python = root / "venv" / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"]
    _run([*pip, str(wealist_src), str(hello_src)], cwd=root, env=env, timeout=900)
    return root / "venv"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_both_distributions_are_imported_from_the_fresh_environment(venv: Path, tmp_path: Path) -> None:
    code = "import json, wealist_core as c, wealist_hello as h; print(json.dumps([c.__file__, h.__file__]))"
    out = _run([str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, env=_env(tmp_path), timeout=60)
    for path in json.loads(out):
        assert Path(path).is_relative_to(venv), f"{path} is not inside the fresh environment {venv}"


def test_wealist_plugins_lists_the_installed_plugin(venv: Path, data_dir: Path) -> None:
    wealist, env = str(venv / "bin" / "wealist"), _env(data_dir)
    listing = json.loads(_run([wealist, "plugins", "--json"], cwd=data_dir.parent, env=env, timeout=60))
    hello = {row["name"]: row for row in listing["plugins"]}["hello"]
    assert hello["source"] == "wealist-hello 0.1.0"
    assert hello["prefixes"] == ["/api/hello"]
    assert hello["runs"] == "this process"

    text = _run([wealist, "plugins"], cwd=data_dir.parent, env=env, timeout=60)
    assert "hello 0.1.0  (wealist-hello 0.1.0)" in text


@pytest.fixture
def server(venv: Path, data_dir: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    port = free_port()
    process = start_process(
        "wealist-hello",
        [str(venv / "bin" / "wealist"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(data_dir, WEALIST_PLUGINS="hello", WEALIST_LOG_FORMAT="text"),
        port=port,
        log_dir=tmp_path / "logs",
        ready_path="/health/live",
    )
    yield process
    process.stop()


def test_the_plugin_route_answers_and_validates_its_query(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=5.0) as client:
        ok = client.get("/api/hello", params={"name": "Kim"})
        too_long = client.get("/api/hello", params={"name": "K" * 65})

    assert ok.status_code == 200, server.output()
    assert ok.json() == {"message": "Hello, Kim!"}

    assert too_long.status_code == 422
    assert too_long.headers["content-type"] == "application/problem+json"
    problem = too_long.json()
    assert problem["code"] == "VALIDATION_ERROR"
    assert [error["field"] for error in problem["errors"]] == ["query.name"]
