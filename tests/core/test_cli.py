"""The ``wealist`` command line: ``config`` (masked) and ``plugins`` (what is installed)."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wealist_core.cli import main

TOY_PLUGIN = """
from wealist_core import PluginManifest, hookimpl


class ClockPlugin:
    @hookimpl
    def wealist_plugin_manifest(self):
        return PluginManifest(
            "clock",
            version="1.2.3",
            description="Tells the time.",
            prefixes=("/api/clock",),
            ports=("keyvalue",),
            provides=("clock.Clock",),
            publishes=("clock.ticked",),
        )

    @hookimpl
    def wealist_register_commands(self, cli):
        def tick(args):
            print(f"tick x{args.times}")
            return 3

        parser = cli.add_parser("tick", help="print a tick")
        parser.add_argument("--times", type=int, default=1)
        parser.set_defaults(func=tick)
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A clean WEALIST_* environment with a toy plugin importable by path."""
    for name in list(os.environ):
        if name.startswith("WEALIST_"):
            monkeypatch.delenv(name)
    (tmp_path / "clock_plugin.py").write_text(textwrap.dedent(TOY_PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("WEALIST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WEALIST_PLUGIN_MODULES", "clock_plugin:ClockPlugin")
    yield monkeypatch
    sys.modules.pop("clock_plugin", None)  # its file lives in this test's tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    return status, capsys.readouterr().out


def test_config_prints_json_with_secrets_and_url_passwords_masked(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("WEALIST_AUTOLOAD", "false")
    env.setenv("WEALIST_SERVICE_TOKEN", "service-token-value")
    env.setenv("WEALIST_SECRET_KEY", "secret-key-value")
    env.setenv("WEALIST_DATABASE_URL", "postgresql+asyncpg://wealist:hunter2@db:5432/wealist")
    env.setenv("WEALIST_KEYVALUE_URL", "rediss://:redispass@cache.example:6380/0")
    env.setenv("WEALIST_PEERS__USER", "http://svc:peerpass@user:8080/")

    status, out = run(capsys, "config")

    assert status == 0
    config: dict[str, Any] = json.loads(out)
    for secret in ("service-token-value", "secret-key-value", "hunter2", "redispass", "peerpass"):
        assert secret not in out
    assert config["service_token"] == "***" and config["secret_key"] == "***"
    assert config["database_url"] == "postgresql+asyncpg://wealist:***@db:5432/wealist"
    assert config["keyvalue_url"] == "rediss://:***@cache.example:6380/0"
    assert config["peers"] == {"user": "http://svc:***@user:8080"}
    assert config["autoload"] is False
    assert config["mailer_url"] == "console://"


def test_config_shows_effective_defaults_and_per_plugin_overrides(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env.setenv("WEALIST_AUTOLOAD", "false")
    env.setenv("WEALIST_BOARD__DATABASE_URL", "postgresql+asyncpg://board:boardpass@db/board_db")
    env.setenv("WEALIST_BOARD__KEYVALUE_URL", "redis://redis:6379/1")
    env.setenv("WEALIST_AUTH__CLIENT_SECRET", "oidc-secret")
    env.setenv("WEALIST_AUTH__ACCESS_TOKEN_TTL", "900")

    status, out = run(capsys, "config")

    assert status == 0
    config = json.loads(out)
    assert config["database_url"] == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'wealist.db'}"
    assert config["blobstore_url"] == f"file://{tmp_path / 'data' / 'blobs'}"
    assert config["overrides"] == {
        "board": {
            "database_url": "postgresql+asyncpg://board:***@db/board_db",
            "keyvalue_url": "redis://redis:6379/1",
        },
        "auth": {"client_secret": "***", "access_token_ttl": "900"},
    }
    assert "boardpass" not in out and "oidc-secret" not in out


def test_config_plugins_option_is_the_selection(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("WEALIST_AUTOLOAD", "false")
    status, out = run(capsys, "config", "--plugins", "clock,user")
    assert status == 0 and json.loads(out)["plugins"] == ["clock", "user"]


def test_plugins_json_lists_plugins_and_installed_adapters(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Autoloading stays on: the adapters listed are those the installation registers.
    status, out = run(capsys, "plugins", "--json")

    assert status == 0
    listing = json.loads(out)
    clock = next(p for p in listing["plugins"] if p["name"] == "clock")
    assert clock["version"] == "1.2.3" and clock["source"] == "clock_plugin:ClockPlugin"
    assert clock["prefixes"] == ["/api/clock"] and clock["provides"] == ["clock.Clock"]
    assert clock["publishes"] == ["clock.ticked"] and clock["runs"] == "this process"
    adapters = {(a["port"], a["name"]): a for a in listing["adapters"]}
    assert adapters[("keyvalue", "MemoryKeyValue")]["schemes"] == ["memory"]
    assert ("database", "SqliteDatabase") in adapters
    assert all(a["source"] for a in listing["adapters"])


def test_plugins_says_where_an_unselected_plugin_runs(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("WEALIST_AUTOLOAD", "false")
    env.setenv("WEALIST_PLUGINS", "other")
    env.setenv("WEALIST_PEERS__CLOCK", "http://clock:8080")
    status, out = run(capsys, "plugins", "--json")
    assert status == 0
    (clock,) = [p for p in json.loads(out)["plugins"] if p["name"] == "clock"]
    assert clock["runs"] == "http://clock:8080"


def test_plugins_text_output_names_each_plugin(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("WEALIST_AUTOLOAD", "false")
    status, out = run(capsys, "plugins")
    assert status == 0
    assert "clock 1.2.3" in out and "prefixes: /api/clock" in out and "Adapters:" in out


def test_a_plugin_adds_its_own_subcommand(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("WEALIST_AUTOLOAD", "false")
    status, out = run(capsys, "tick", "--times", "2")
    assert (status, out) == (3, "tick x2\n")
