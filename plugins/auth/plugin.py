"""The auth plugin's hooks: manifest, configuration, tables, routes, start-up and commands."""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from wealist_plugins.auth.cli import MIGRATIONS, add_commands, key_ring
from wealist_plugins.auth.contract import TokenKeys
from wealist_plugins.auth.keys import KeyRing, KeyStore, load_static_keys
from wealist_plugins.auth.limits import AuthLimits
from wealist_plugins.auth.models import METADATA
from wealist_plugins.auth.oidc import OidcProvider
from wealist_plugins.auth.oidc_flow import OidcFlow
from wealist_plugins.auth.options import AuthOptions
from wealist_plugins.auth.passwords import PasswordHasher
from wealist_plugins.auth.routes import AuthRoutes
from wealist_plugins.auth.secretbox import SecretBox
from wealist_plugins.auth.service import AuthService
from wealist_plugins.auth.sessions import SessionStore
from wealist_plugins.auth.tokens import TokenIssuer
from wealist_plugins.auth.totp import Totp
from wealist_plugins.user.contract import Directory, UserDeleted

from wealist_core import Container, ModelRegistration, PluginManifest, Settings, hookimpl, subscribe

__all__ = ["AuthPlugin"]

log = logging.getLogger("wealist.auth")


class AuthPlugin:
    """Sign-up, sign-in (password, OpenID Connect, TOTP), tokens, sessions and signing keys."""

    settings: AuthOptions
    keys: KeyRing
    service: AuthService
    flow: OidcFlow

    def __init__(self) -> None:
        self._http: httpx.AsyncClient | None = None

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="auth",
            version="1.0.0",
            description="Accounts' credentials, sign-in, tokens, sessions and signing keys.",
            prefixes=("/api/auth",),
            ports=("database", "keyvalue", "eventbus"),
            provides=("auth.TokenKeys",),
            needs=("user.Directory",),
        )

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        config = self.settings = AuthOptions.from_settings(settings)
        database = container.database("auth")
        kv = container.keyvalue("auth")
        self.keys = key_ring(
            KeyStore(database, SecretBox(settings.secret_key, "signing-keys")),
            config,
            load_static_keys(config.signing_key, config.verification_keys),
        )
        tokens = config.tokens
        self.service = AuthService(
            database=database,
            directory=container.contracts.get(Directory),
            hasher=PasswordHasher(
                time_cost=config.argon2_time_cost,
                memory_cost=config.argon2_memory_cost,
                parallelism=config.argon2_parallelism,
            ),
            # A revoked session's access tokens are refused for as long as any of them can be alive.
            sessions=SessionStore(
                kv, refresh_ttl=config.refresh_ttl, revocation_ttl=tokens.access_ttl + tokens.leeway
            ),
            issuer=TokenIssuer(self.keys, tokens),
            totp=Totp(config.totp_issuer),
            totp_box=SecretBox(settings.secret_key, "totp"),
            codes_box=SecretBox(settings.secret_key, "recovery-codes"),
            limits=AuthLimits(kv, config),
        )
        providers: dict[str, OidcProvider] = {}
        if config.oidc_providers:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
            providers = {p.id: OidcProvider(p, self._http) for p in config.oidc_providers}
        self.flow = OidcFlow(providers=providers, kv=kv, service=self.service, settings=config)
        container.contracts.provide(TokenKeys, self.keys)

    @subscribe(UserDeleted)
    async def on_user_deleted(self, event: UserDeleted) -> None:
        """A deleted account is signed out everywhere at once: its refresh tokens and its live access
        tokens stop working. Signing in again (to restore it within the grace period) still works."""
        ended = await self.service.sessions.revoke_all(str(event.user_id))
        log.info("signed out a deleted account", extra={"user_id": str(event.user_id), "sessions": ended})

    @hookimpl
    def wealist_register_models(self) -> list[ModelRegistration]:
        return [ModelRegistration("auth", METADATA, MIGRATIONS)]

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        return AuthRoutes(self.service, self.flow, self.keys).routes()

    @hookimpl
    def wealist_lifespan(self, app: Starlette) -> contextlib.AbstractAsyncContextManager[Any]:
        return self._running()

    @contextlib.asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        try:
            await self.keys.start()
            yield
        finally:
            if self._http is not None:
                await self._http.aclose()

    @hookimpl
    def wealist_register_commands(self, cli: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        add_commands(cli)
