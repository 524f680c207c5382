"""The example third-party plugin, installed the way a user installs one: ``pip install`` into a fresh
virtual environment beside Wealist, then found by ``wealist plugins`` and served by ``wealist serve``.

The environment is a plain ``python -m venv`` (see :mod:`tests.support.venvs`): a missing dependency, a wrong
entry point or an import from a private module of the host fails here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import REPO_ROOT, ServerProcess, free_port, start_process
from tests.support.venvs import fresh_venv, run, venv_env

pytestmark = pytest.mark.slow

HELLO_SOURCE = REPO_ROOT / "examples" / "hello-plugin"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with wealist and wealist-hello installed from their sources."""
    return fresh_venv(tmp_path_factory.mktemp("hello-venv"), HELLO_SOURCE)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_both_distributions_are_imported_from_the_fresh_environment(venv: Path, tmp_path: Path) -> None:
    code = "import json, wealist_core as c, wealist_hello as h; print(json.dumps([c.__file__, h.__file__]))"
    out = run([str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, env=venv_env(tmp_path), timeout=60)
    for path in json.loads(out):
        assert Path(path).is_relative_to(venv), f"{path} is not inside the fresh environment {venv}"


def test_wealist_plugins_lists_the_installed_plugin(venv: Path, data_dir: Path) -> None:
    wealist, env = str(venv / "bin" / "wealist"), venv_env(data_dir)
    listing = json.loads(run([wealist, "plugins", "--json"], cwd=data_dir.parent, env=env, timeout=60))
    hello = {row["name"]: row for row in listing["plugins"]}["hello"]
    assert hello["source"] == "wealist-hello 0.1.0"
    assert hello["prefixes"] == ["/api/hello"]
    assert hello["runs"] == "this process"

    text = run([wealist, "plugins"], cwd=data_dir.parent, env=env, timeout=60)
    assert "hello 0.1.0  (wealist-hello 0.1.0)" in text


@pytest.fixture
def server(venv: Path, data_dir: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    port = free_port()
    process = start_process(
        "wealist-hello",
        [str(venv / "bin" / "wealist"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=venv_env(data_dir, WEALIST_PLUGINS="hello", WEALIST_LOG_FORMAT="text"),
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
