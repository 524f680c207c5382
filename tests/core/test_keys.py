"""Secrets of an embedded installation: generated once under the data directory, private, reused."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from wealist_core import ConfigurationError, Settings
from wealist_core._keys import ensure_secrets


def bare(data_dir: Path, **values: object) -> Settings:
    return Settings.load({}, data_dir=data_dir, autoload=False, **values)


def test_missing_secrets_are_generated_into_a_private_file(tmp_path: Path) -> None:
    settings = ensure_secrets(bare(tmp_path / "data"))

    path = tmp_path / "data" / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert stored == {"service_token": settings.service_token, "secret_key": settings.secret_key}
    assert len(settings.service_token) >= 32 and len(settings.secret_key) >= 32
    assert settings.service_token != settings.secret_key


def test_generated_secrets_are_reused_by_the_next_start(tmp_path: Path) -> None:
    first = ensure_secrets(bare(tmp_path))
    written = (tmp_path / "secrets.json").stat().st_mtime_ns

    second = ensure_secrets(bare(tmp_path))

    assert (second.service_token, second.secret_key) == (first.service_token, first.secret_key)
    assert (tmp_path / "secrets.json").stat().st_mtime_ns == written, "nothing new to write"


def test_processes_sharing_a_data_directory_agree(tmp_path: Path) -> None:
    board = ensure_secrets(bare(tmp_path, plugins="board"))
    chat = ensure_secrets(bare(tmp_path, plugins="chat"))
    assert board.service_token == chat.service_token


def test_given_secrets_win_and_are_never_written(tmp_path: Path) -> None:
    given = bare(tmp_path, service_token="from-env", secret_key="also-from-env")
    assert ensure_secrets(given) is given
    assert not (tmp_path / "secrets.json").exists()


def test_only_the_missing_secret_is_taken_from_the_file(tmp_path: Path) -> None:
    settings = ensure_secrets(bare(tmp_path, service_token="from-env"))
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert settings.service_token == "from-env"
    assert settings.secret_key == stored["secret_key"]


def test_production_refuses_an_empty_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="WEALIST_SERVICE_TOKEN is empty; in production"):
        ensure_secrets(bare(tmp_path, environment="production", secret_key="set"))
    with pytest.raises(ConfigurationError, match="WEALIST_SECRET_KEY is empty"):
        ensure_secrets(bare(tmp_path, environment="production", service_token="set"))
    assert not (tmp_path / "secrets.json").exists()


def test_production_with_both_secrets_starts(tmp_path: Path) -> None:
    settings = bare(tmp_path, environment="production", service_token="a", secret_key="b")
    assert ensure_secrets(settings) is settings


def test_an_unreadable_secrets_file_says_how_to_recover(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text("{not json")
    with pytest.raises(ConfigurationError, match="delete it to generate new secrets"):
        ensure_secrets(bare(tmp_path))


def test_the_application_runs_with_the_generated_secrets(tmp_path: Path) -> None:
    from wealist_core.app import create_app

    app = create_app(bare(tmp_path))
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert app.state.wealist.settings.service_token == stored["service_token"]
