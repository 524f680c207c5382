"""Settings: ``WEALIST_*`` variables, infrastructure by URL, per-plugin overrides, masking."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from wealist_core import ConfigurationError, Settings
from wealist_core.settings import PORT_SETTINGS, mask_url

CONFIGURATION_MD = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


# --------------------------------------------------------------------------------------------- loading


def test_load_reads_wealist_variables_and_ignores_others() -> None:
    settings = Settings.load(
        {"WEALIST_LOG_LEVEL": "DEBUG", "WEALIST_MAX_BODY_BYTES": "2048", "LOG_LEVEL": "ERROR", "HOME": "/x"}
    )
    assert settings.log_level == "DEBUG" and settings.max_body_bytes == 2048


def test_explicit_values_beat_the_environment() -> None:
    settings = Settings.load({"WEALIST_LOG_LEVEL": "DEBUG"}, log_level="WARNING")
    assert settings.log_level == "WARNING"


def test_settings_built_directly_ignore_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests build Settings(...) and must not pick up a developer's shell.
    monkeypatch.setenv("WEALIST_LOG_LEVEL", "DEBUG")
    assert Settings().log_level == "INFO"
    assert Settings.load().log_level == "DEBUG"


def test_comma_separated_lists_are_split_and_trimmed() -> None:
    settings = Settings.load(
        {
            "WEALIST_PLUGINS": "user, auth,,board ",
            "WEALIST_CORS_ORIGINS": "https://a.example,https://b.example",
        }
    )
    assert settings.plugins == ("user", "auth", "board")
    assert settings.cors_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize(("raw", "expected"), [("false", False), ("0", False), ("true", True), ("1", True)])
def test_booleans_accept_the_usual_spellings(raw: str, expected: bool) -> None:
    assert Settings.load({"WEALIST_AUTOLOAD": raw}).autoload is expected


def test_peers_come_from_double_underscore_variables() -> None:
    settings = Settings.load(
        {"WEALIST_PEERS__USER": "http://user:8080/", "WEALIST_PEERS__Board": "http://b:1"}
    )
    assert settings.peers == {"user": "http://user:8080", "board": "http://b:1"}


def test_an_invalid_value_names_its_variable() -> None:
    with pytest.raises(
        ConfigurationError, match=r"^WEALIST_MAX_BODY_BYTES is invalid: .*; fix or unset it\.$"
    ):
        Settings.load({"WEALIST_MAX_BODY_BYTES": "a lot"})
    with pytest.raises(ConfigurationError, match="WEALIST_LOG_FORMAT is invalid"):
        Settings.load({"WEALIST_LOG_FORMAT": "xml"})


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.log_level = "DEBUG"  # type: ignore[misc]


# ------------------------------------------------------------------------------------------ ports by URL


def test_embedded_defaults_live_under_the_data_directory(tmp_path: Path) -> None:
    settings = Settings.load({"WEALIST_DATA_DIR": str(tmp_path)})
    assert settings.url_for("database") == f"sqlite+aiosqlite:///{tmp_path / 'wealist.db'}"
    assert settings.url_for("blobstore") == f"file://{tmp_path / 'blobs'}"
    assert (
        settings.url_for("keyvalue")
        == settings.url_for("pubsub")
        == settings.url_for("eventbus")
        == "memory://"
    )
    assert settings.url_for("mailer") == "console://"
    assert settings.url_for("media") == ""


def test_a_per_plugin_override_wins_for_that_plugin_only() -> None:
    settings = Settings.load(
        {
            "WEALIST_DATABASE_URL": "postgresql+asyncpg://db/wealist",
            "WEALIST_BOARD__DATABASE_URL": "postgresql+asyncpg://db/board_db",
            "WEALIST_CHAT__KEYVALUE_URL": "redis://redis:6379/2",
        }
    )
    assert settings.overrides == {
        "board": {"database_url": "postgresql+asyncpg://db/board_db"},
        "chat": {"keyvalue_url": "redis://redis:6379/2"},
    }
    assert settings.url_for("database", "board") == "postgresql+asyncpg://db/board_db"
    assert settings.url_for("database", "chat") == "postgresql+asyncpg://db/wealist"
    assert settings.url_for("database") == "postgresql+asyncpg://db/wealist"
    assert settings.setting_name("database", "board") == "WEALIST_BOARD__DATABASE_URL"
    assert settings.setting_name("database", "chat") == "WEALIST_DATABASE_URL"
    assert settings.setting_name("keyvalue", "chat") == "WEALIST_CHAT__KEYVALUE_URL"


def test_every_port_has_a_url_setting() -> None:
    assert set(PORT_SETTINGS) == {
        "database",
        "keyvalue",
        "pubsub",
        "eventbus",
        "blobstore",
        "mailer",
        "media",
    }
    for setting in PORT_SETTINGS.values():
        assert setting in Settings.model_fields


# ------------------------------------------------------------------------------------ a plugin's view


def test_plugin_settings_options_are_the_plugins_own_variables() -> None:
    settings = Settings.load(
        {"WEALIST_AUTH__ACCESS_TOKEN_TTL": "900", "WEALIST_BOARD__ACCESS_TOKEN_TTL": "5"}
    )
    auth = settings.for_plugin("auth")
    assert auth.option("access_token_ttl") == "900"
    assert auth.option("ACCESS_TOKEN_TTL") == "900"
    assert auth.option("refresh_token_ttl", "86400") == "86400"
    assert settings.for_plugin("chat").option("access_token_ttl") is None


def test_plugin_settings_fall_back_to_the_global_values() -> None:
    settings = Settings.load(
        {
            "WEALIST_LOG_LEVEL": "DEBUG",
            "WEALIST_BOARD__LOG_LEVEL": "ERROR",
            "WEALIST_BOARD__MEDIA_URL": "ws://lk",
        }
    )
    board, chat = settings.for_plugin("board"), settings.for_plugin("chat")
    assert (board.log_level, chat.log_level) == ("ERROR", "DEBUG")
    assert board.max_body_bytes == settings.max_body_bytes
    assert (board.url_for("media"), chat.url_for("media")) == ("ws://lk", "")


# --------------------------------------------------------------------------------------------- masking


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:secret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("postgresql+asyncpg://app:pw@db/wealist", "postgresql+asyncpg://app:***@db/wealist"),
        (
            "s3://key:secret@bucket?endpoint=http://minio:9000",
            "s3://key:***@bucket?endpoint=http://minio:9000",
        ),
        ("postgresql+asyncpg://app@db/wealist", "postgresql+asyncpg://app@db/wealist"),
        ("memory://", "memory://"),
        ("", ""),
    ],
)
def test_mask_url_hides_only_the_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_describe_masks_secrets_and_url_passwords() -> None:
    settings = Settings.load(
        {
            "WEALIST_SERVICE_TOKEN": "tok",
            "WEALIST_DATABASE_URL": "postgresql+asyncpg://app:pw@db/wealist",
            "WEALIST_AUTH__CLIENT_SECRET": "oidc",
            "WEALIST_AUTH__SIGNING_KEY": "k",
            "WEALIST_AUTH__ISSUER": "https://id.example",
        }
    )
    described = settings.describe()
    assert described["service_token"] == "***"
    assert described["secret_key"] == "", "an empty secret is shown as empty: it tells the reader it is unset"
    assert described["database_url"] == "postgresql+asyncpg://app:***@db/wealist"
    assert described["overrides"]["auth"] == {
        "client_secret": "***",
        "signing_key": "***",
        "issuer": "https://id.example",
    }
    assert set(described) == set(Settings.model_fields)


# ------------------------------------------------------------------------------------------------ docs


def test_every_setting_is_documented_with_its_variable() -> None:
    text = CONFIGURATION_MD.read_text(encoding="utf-8")
    for name in Settings.model_fields:
        if name == "overrides":
            assert "WEALIST_<PLUGIN>__<NAME>" in text
        elif name == "peers":
            assert "WEALIST_PEERS__<PLUGIN>" in text
        else:
            assert re.search(rf"`WEALIST_{name.upper()}`", text), (
                f"docs/configuration.md lacks WEALIST_{name.upper()}"
            )
