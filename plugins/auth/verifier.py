"""The token verifier: a plugin that runs in every process and authenticates Bearer access tokens.

It implements ``wealist_authenticate``: no ``Authorization`` header (or another scheme) is None, a valid
access token is its :class:`~wealist_core.Principal`, anything else is a 401 saying whether the token is
invalid, expired or revoked. Verification is local (see :mod:`wealist_plugins.auth.tokens`); the keys come
from the auth plugin's key ring when auth runs in this process, else from the JWKS of the process named by
``WEALIST_PEERS__AUTH``. Revocations are read from auth's own key space (``WEALIST_AUTH__KEYVALUE_URL``
or the global key-value URL, prefix ``auth:``), where auth writes them: every process must be able to reach
that store.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from wealist_plugins.auth.contract import TokenKeys
from wealist_plugins.auth.options import TokenSettings
from wealist_plugins.auth.tokens import DELETED_CLAIM, AccessTokenVerifier, JwksCache
from wealist_plugins.user.contract import RESTORE_ROUTE

from wealist_core import (
    Container,
    Forbidden,
    KeyValue,
    PluginManifest,
    Principal,
    Settings,
    Unauthorized,
    hookimpl,
)

__all__ = ["JWKS_PATH", "TokenVerifierPlugin"]

log = logging.getLogger("wealist.auth.verifier")

JWKS_PATH = "/api/auth/.well-known/jwks.json"


class TokenVerifierPlugin:
    """Authenticates ``Authorization: Bearer <access token>`` in every process."""

    def __init__(self) -> None:
        self._container: Container | None = None
        self._settings: TokenSettings | None = None
        self._revocations: KeyValue | None = None
        self._peer: str | None = None
        self._http: httpx.AsyncClient | None = None
        self._verifier: AccessTokenVerifier | None = None
        self.jwks: JwksCache | None = None

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="auth_verifier",
            version="1.0.0",
            description="Verifies access tokens (signature by kid, issuer, audience, expiry, revocation).",
            everywhere=True,
        )

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        self._container = container
        self._settings = TokenSettings.from_settings(settings)
        self._revocations = container.keyvalue_of("auth")
        self._peer = settings.peers.get("auth")

    @hookimpl
    def wealist_lifespan(self, app: Starlette) -> contextlib.AbstractAsyncContextManager[None]:
        return self._running()

    @contextlib.asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        if self._source() is None:
            log.warning(
                "access tokens cannot be verified in this process: auth does not run here and "
                "WEALIST_PEERS__AUTH is not set"
            )
        try:
            yield
        finally:
            if self._http is not None:
                await self._http.aclose()
                self._http = None

    @hookimpl
    async def wealist_authenticate(self, request: HTTPConnection) -> Principal | None:
        header = request.headers.get("authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        verifier = self._get_verifier()
        if verifier is None:
            return None
        token = token.strip()
        if not token:
            raise Unauthorized("The access token is invalid: it is empty.")
        principal = await verifier.verify(token)
        if principal.claims.get(DELETED_CLAIM) is True and not _is_restore(request):
            # Checked here, in every process, so that it holds for every plugin's routes and sockets.
            detail = (
                "This account is deleted; restore it with POST /api/users/me/restore within the grace "
                "period, then refresh the token."
            )
            if request.scope["type"] != "http":
                raise Unauthorized(detail, code="ACCOUNT_DELETED")
            raise Forbidden(detail, code="ACCOUNT_DELETED")
        return principal

    # ------------------------------------------------------------------------------------------- internals

    def _source(self) -> tuple[Any, float] | None:
        """Where the keys come from and how often an unknown ``kid`` may trigger a refetch: auth's key ring
        in this process (cheap: it throttles its own database reads), the auth peer's JWKS, or None."""
        container, settings = self._container, self._settings
        if container is None or settings is None:
            return None
        if container.contracts.is_local(TokenKeys):
            return container.contracts.get(TokenKeys).jwks, 0.0
        if self._peer:
            return self._fetch_remote, settings.jwks_refetch_interval
        return None

    def _get_verifier(self) -> AccessTokenVerifier | None:
        # Built on first use: this plugin runs everywhere and is configured before auth provides its keys.
        if self._verifier is None:
            source = self._source()
            if source is None or self._settings is None or self._revocations is None:
                return None
            fetch, refetch_interval = source
            self.jwks = JwksCache(fetch, ttl=self._settings.jwks_cache_ttl, refetch_interval=refetch_interval)
            self._verifier = AccessTokenVerifier(self.jwks, self._revocations, self._settings)
        return self._verifier

    async def _fetch_remote(self, refresh: bool) -> Mapping[str, Any]:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))
        response = await self._http.get(f"{self._peer}{JWKS_PATH}")
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict):
            raise ValueError("the JWKS is not a JSON object")
        return document


def _is_restore(request: HTTPConnection) -> bool:
    method, path = RESTORE_ROUTE
    return request.scope.get("method") == method and request.url.path.rstrip("/") == path
