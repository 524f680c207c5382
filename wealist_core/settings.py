"""Settings: environment variables ``WEALIST_*``, infrastructure chosen by URL.

Every value can be given globally (``WEALIST_DATABASE_URL``) and overridden for one plugin
(``WEALIST_BOARD__DATABASE_URL``): that is how a split deployment gives each plugin its own database and
Redis database number. A plugin reads its effective values through :meth:`Settings.for_plugin`; values that
only one plugin knows (``WEALIST_AUTH__ACCESS_TOKEN_TTL``) come from :meth:`PluginSettings.option`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PORT_SETTINGS", "PluginSettings", "Settings", "mask_url"]

#: Port name -> the setting that chooses its adapter.
PORT_SETTINGS: Mapping[str, str] = {
    "database": "database_url",
    "keyvalue": "keyvalue_url",
    "pubsub": "pubsub_url",
    "eventbus": "eventbus_url",
    "blobstore": "blobstore_url",
    "mailer": "mailer_url",
    "media": "media_url",
}

_SECRET_NAMES = re.compile(r"(secret|token|password|key)$", re.I)
_PREFIX = "WEALIST_"


class Settings(BaseSettings):
    """The process's configuration. Build it with :meth:`load` (environment plus explicit overrides)."""

    model_config = SettingsConfigDict(env_prefix=_PREFIX, extra="ignore", frozen=True)

    # Which plugins this process runs; empty means every installed plugin.
    plugins: tuple[str, ...] = ()
    # Plugins to load by import path ("package.module:Class"), beside the installed ones: handy for a
    # plugin under development, and how tests start processes with toy plugins.
    plugin_modules: tuple[str, ...] = ()
    adapter_modules: tuple[str, ...] = ()  # adapters by import path, likewise
    autoload: bool = True  # load plugins and adapters from entry points; tests turn it off
    trace_hooks: bool = False  # log every hook call with its arguments and result

    data_dir: Path = Path("data")
    database_url: str = ""  # default: sqlite+aiosqlite:///<data_dir>/wealist.db
    keyvalue_url: str = "memory://"
    pubsub_url: str = "memory://"
    eventbus_url: str = "memory://"
    blobstore_url: str = ""  # default: file://<data_dir>/blobs
    mailer_url: str = "console://"
    media_url: str = ""  # empty: video is not configured
    auto_migrate: bool = False  # migrate real databases at start too (the embedded one always is)

    # Where peers run when they are not in this process: {"user": "http://user:8080"}.
    peers: dict[str, str] = Field(default_factory=dict)
    service_token: str = ""  # shared by the processes of one deployment; generated in embedded mode
    # Seconds a process keeps the answers of a remote provider's cacheable contract methods (0: never).
    contract_cache_seconds: float = Field(default=5.0, ge=0)
    secret_key: str = ""  # signs local blob URLs; generated in embedded mode
    public_url: str = "http://127.0.0.1:8000"  # how browsers reach this deployment

    # The built web app (``npm run build`` in frontend/), served at / when the folder exists.
    frontend_dir: Path = Path("frontend/dist")
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1_048_576
    # Seconds a client has to send a request's whole body; a stalled one is answered 408 and closed.
    body_read_timeout: float = Field(default=30.0, gt=0)
    # Addresses (or CIDR ranges) of the reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are
    # trusted; empty: none, every client is its own address.
    trusted_proxies: tuple[str, ...] = ()
    # Who may read /metrics: these addresses or CIDR ranges, or a scraper sending this bearer token.
    metrics_allowed: tuple[str, ...] = ("127.0.0.1", "::1")
    metrics_token: str = ""
    # Seconds ``wealist serve`` lets requests under way finish after SIGTERM before it cancels them (keep it
    # below the orchestrator's own wait: Kubernetes' terminationGracePeriodSeconds is 30 by default).
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    access_log: bool = True  # one JSON line per request; turn off where the gateway already logs access
    environment: Literal["development", "production", "test"] = "development"

    # Per-plugin overrides, parsed from WEALIST_<PLUGIN>__<NAME> (see load()).
    overrides: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator(
        "plugins",
        "plugin_modules",
        "adapter_modules",
        "cors_origins",
        "trusted_proxies",
        "metrics_allowed",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("peers", mode="before")
    @classmethod
    def _lower_peer_names(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k).lower(): str(v).rstrip("/") for k, v in value.items()}
        return value

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **values: Any) -> Settings:
        """Settings from ``environ`` (default ``os.environ``), with ``values`` taking precedence."""
        env = dict(os.environ if environ is None else environ)
        known = set(cls.model_fields)
        overrides: dict[str, dict[str, str]] = {}
        peers: dict[str, str] = {}
        plain: dict[str, Any] = {}
        for name, value in env.items():
            if not name.startswith(_PREFIX):
                continue
            rest = name[len(_PREFIX) :].lower()
            if "__" in rest:
                head, _, tail = rest.partition("__")
                if head == "peers":
                    peers[tail] = value
                elif head not in known:
                    overrides.setdefault(head, {})[tail] = value
                continue
            if rest in known and rest not in ("overrides", "peers"):
                plain[rest] = value
        if peers:
            plain["peers"] = peers
        if overrides:
            plain["overrides"] = overrides
        plain.update(values)
        # The environment has been read above; build from the merged values only.
        try:
            return cls.model_validate(plain)
        except ValidationError as exc:
            from wealist_core.errors import ConfigurationError

            err = exc.errors(include_url=False)[0]
            name = f"{_PREFIX}{'__'.join(str(p) for p in err['loc']).upper()}"
            raise ConfigurationError(f"{name} is invalid: {err['msg']}; fix or unset it.") from None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, *args, **kwargs):  # type: ignore[no-untyped-def]
        # load() reads the environment itself (it understands per-plugin overrides); a plain Settings()
        # therefore sees only its arguments, which keeps tests hermetic.
        return (init_settings,)

    # ------------------------------------------------------------------------------------------ derived

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'wealist.db'}"

    @property
    def effective_blobstore_url(self) -> str:
        return self.blobstore_url or f"file://{self.data_dir / 'blobs'}"

    def url_for(self, port: str, plugin: str | None = None) -> str:
        """The URL choosing ``port``'s adapter for ``plugin`` (its override, else the global value)."""
        setting = PORT_SETTINGS[port]
        if plugin:
            override = self.overrides.get(plugin, {}).get(setting)
            if override:
                return override
        if setting == "database_url":
            return self.effective_database_url
        if setting == "blobstore_url":
            return self.effective_blobstore_url
        return str(getattr(self, setting))

    def setting_name(self, port: str, plugin: str | None = None) -> str:
        """The environment variable that set (or would set) ``port``'s URL for ``plugin``."""
        setting = PORT_SETTINGS[port].upper()
        if plugin and PORT_SETTINGS[port] in self.overrides.get(plugin, {}):
            return f"{_PREFIX}{plugin.upper()}__{setting}"
        return f"{_PREFIX}{setting}"

    def for_plugin(self, plugin: str) -> PluginSettings:
        return PluginSettings(self, plugin)

    def describe(self) -> dict[str, Any]:
        """Every effective value, secrets and URL passwords masked: what ``wealist config`` prints."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name == "database_url":
                value = self.effective_database_url
            elif name == "blobstore_url":
                value = self.effective_blobstore_url
            out[name] = _mask(name, value)
        return out


class PluginSettings:
    """One plugin's view of the settings: its overrides first, then the global values."""

    def __init__(self, settings: Settings, plugin: str) -> None:
        self.settings = settings
        self.plugin = plugin
        self._own = settings.overrides.get(plugin, {})

    def url_for(self, port: str) -> str:
        return self.settings.url_for(port, self.plugin)

    def option(self, name: str, default: Any = None) -> Any:
        """A plugin-specific value ``WEALIST_<PLUGIN>__<NAME>`` (a string), or ``default``."""
        return self._own.get(name.lower(), default)

    def __getattr__(self, name: str) -> Any:
        if name in self._own:
            return self._own[name]
        return getattr(self.settings, name)


def mask_url(url: str) -> str:
    """``redis://:secret@host`` -> ``redis://:***@host``; URLs without a password are unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _mask(name: str, value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _mask(k, v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, str):
        if _SECRET_NAMES.search(name) and value:
            return "***"
        if "://" in value:
            return mask_url(value)
    return value
