"""The auth plugin's settings, read once from ``WEALIST_AUTH__*`` and checked at start-up.

Every value is a plugin option (``settings.for_plugin("auth").option(...)``); a malformed one stops the
process with a :class:`~wealist_core.ConfigurationError` naming the variable. The token verifier reads the
same ``issuer``, ``audience`` and ``token_leeway`` in every process, so tokens minted by auth are checked
against the values auth used.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from wealist_core import ConfigurationError, PluginSettings, Settings

__all__ = ["AuthOptions", "OidcProviderConfig", "RateLimit", "TokenSettings"]

PLUGIN = "auth"
T = TypeVar("T")


def _env(name: str) -> str:
    return f"WEALIST_AUTH__{name.upper()}"


def _option(options: PluginSettings, name: str, default: T, parse: Callable[[str], T]) -> T:
    raw = options.option(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(str(raw))
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{_env(name)} is invalid ({exc}); fix or unset it.") from None


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"{value} is not a positive integer")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise ValueError(f"{value} is negative")
    return value


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``limit`` attempts per ``window`` seconds, written ``"10/60"`` in settings."""

    limit: int
    window: float

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        count, sep, seconds = text.partition("/")
        if not sep:
            raise ValueError(f"{text!r} is not of the form <attempts>/<seconds>, e.g. 10/60")
        return cls(_positive_int(count.strip()), float(_positive_int(seconds.strip())))


@dataclass(frozen=True, slots=True)
class TokenSettings:
    """What every process needs to verify an access token the way auth minted it."""

    issuer: str
    audience: str
    access_ttl: int
    leeway: int
    jwks_cache_ttl: float
    jwks_refetch_interval: float

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenSettings:
        options = settings.for_plugin(PLUGIN)
        return cls(
            issuer=_option(options, "issuer", settings.public_url.rstrip("/"), str),
            audience=_option(options, "audience", "wealist", str),
            access_ttl=_option(options, "access_token_ttl", 900, _positive_int),
            leeway=_option(options, "token_leeway", 30, int),
            jwks_cache_ttl=_option(options, "jwks_cache_ttl", 300.0, _non_negative_float),
            jwks_refetch_interval=_option(options, "jwks_refetch_interval", 5.0, _non_negative_float),
        )


@dataclass(frozen=True, slots=True)
class OidcProviderConfig:
    """One OpenID provider: discovered from ``{issuer}/.well-known/openid-configuration``."""

    id: str
    name: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: str = "openid email profile"


def _providers(options: PluginSettings) -> tuple[OidcProviderConfig, ...]:
    raw = options.option("oidc_providers")
    if not raw:
        return ()
    setting = _env("oidc_providers")
    try:
        data: Any = json.loads(raw)
    except ValueError as exc:
        raise ConfigurationError(
            f"{setting} is not valid JSON ({exc}); give a JSON list of providers."
        ) from None
    if not isinstance(data, list):
        raise ConfigurationError(f"{setting} must be a JSON list of providers, e.g. " + _PROVIDER_EXAMPLE)
    providers: list[OidcProviderConfig] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise ConfigurationError(f"{setting}[{index}] must be an object, e.g. {_PROVIDER_EXAMPLE}")
        ident = str(item.get("id", "")).strip().lower()
        if not ident or not ident.replace("-", "").replace("_", "").isalnum():
            raise ConfigurationError(f"{setting}[{index}] needs an 'id' of letters, digits, '-' or '_'.")
        # The secret may come from its own variable, so it can live in a secret store apart from the list.
        secret = (
            item.get("clientSecret") or options.option(f"oidc_{ident.replace('-', '_')}_client_secret") or ""
        )
        missing = [key for key in ("issuer", "clientId") if not item.get(key)]
        if not secret:
            missing.append(f"clientSecret (or {_env(f'oidc_{ident}_client_secret')})")
        if missing:
            raise ConfigurationError(f"{setting}: provider '{ident}' lacks {', '.join(missing)}.")
        if any(p.id == ident for p in providers):
            raise ConfigurationError(f"{setting}: two providers have the id '{ident}'.")
        providers.append(
            OidcProviderConfig(
                id=ident,
                name=str(item.get("name") or ident.title()),
                issuer=str(item["issuer"]).rstrip("/"),
                client_id=str(item["clientId"]),
                client_secret=str(secret),
                scopes=str(item.get("scopes") or "openid email profile"),
            )
        )
    return tuple(providers)


_PROVIDER_EXAMPLE = (
    '[{"id": "google", "name": "Google", "issuer": "https://accounts.google.com", '
    '"clientId": "...", "clientSecret": "..."}]'
)


@dataclass(frozen=True, slots=True)
class AuthOptions:
    """Every option of the auth plugin, with production defaults."""

    tokens: TokenSettings
    refresh_ttl: int
    # Argon2id cost; argon2-cffi's defaults follow RFC 9106's second recommendation.
    argon2_time_cost: int
    argon2_memory_cost: int
    argon2_parallelism: int
    signing_key: str  # PEM text or a path; empty: keys are kept (encrypted) in the auth database
    verification_keys: str  # PEM text or a path: retired keys still accepted (with signing_key only)
    key_retention: float  # seconds a superseded key stays published beyond the access-token lifetime
    key_reload_interval: float
    totp_issuer: str
    oidc_providers: tuple[OidcProviderConfig, ...]
    oidc_redirect_url: str  # where the browser lands with the one-time code
    oidc_state_ttl: int
    oidc_code_ttl: int
    login_ip: RateLimit
    login_account: RateLimit
    signup_ip: RateLimit
    signup_account: RateLimit
    refresh_ip: RateLimit
    refresh_account: RateLimit
    production: bool = False
    public_url: str = ""
    secret_key: str = field(default="", repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthOptions:
        o = settings.for_plugin(PLUGIN)
        public = settings.public_url.rstrip("/")
        return cls(
            tokens=TokenSettings.from_settings(settings),
            refresh_ttl=_option(o, "refresh_token_ttl", 30 * 24 * 3600, _positive_int),
            argon2_time_cost=_option(o, "argon2_time_cost", 3, _positive_int),
            argon2_memory_cost=_option(o, "argon2_memory_cost", 65536, _positive_int),
            argon2_parallelism=_option(o, "argon2_parallelism", 4, _positive_int),
            signing_key=_option(o, "signing_key", "", str),
            verification_keys=_option(o, "verification_keys", "", str),
            key_retention=_option(o, "key_retention", 300.0, _non_negative_float),
            key_reload_interval=_option(o, "key_reload_interval", 60.0, _non_negative_float),
            totp_issuer=_option(o, "totp_issuer", "Wealist", str),
            oidc_providers=_providers(o),
            oidc_redirect_url=_option(o, "oidc_redirect_url", f"{public}/auth/callback", str),
            oidc_state_ttl=_option(o, "oidc_state_ttl", 600, _positive_int),
            oidc_code_ttl=_option(o, "oidc_code_ttl", 120, _positive_int),
            login_ip=_option(o, "rate_limit_login_ip", RateLimit(30, 60), RateLimit.parse),
            login_account=_option(o, "rate_limit_login_account", RateLimit(10, 300), RateLimit.parse),
            signup_ip=_option(o, "rate_limit_signup_ip", RateLimit(20, 3600), RateLimit.parse),
            signup_account=_option(o, "rate_limit_signup_account", RateLimit(5, 3600), RateLimit.parse),
            refresh_ip=_option(o, "rate_limit_refresh_ip", RateLimit(120, 60), RateLimit.parse),
            refresh_account=_option(o, "rate_limit_refresh_account", RateLimit(60, 60), RateLimit.parse),
            production=settings.environment == "production",
            public_url=public,
            secret_key=settings.secret_key,
        )

    def callback_url(self, provider: str) -> str:
        """The redirect URI registered at the provider."""
        return f"{self.public_url}/api/auth/oidc/{provider}/callback"
