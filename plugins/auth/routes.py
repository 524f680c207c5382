"""The routes of ``/api/auth``, each declared once by its handler's signature: parse, call the service."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from wealist_plugins.auth.keys import KeyRing
from wealist_plugins.auth.oidc_flow import OidcFlow
from wealist_plugins.auth.schemas import (
    Jwks,
    LoginRequest,
    LogoutRequest,
    OidcExchangeRequest,
    PasswordChangeRequest,
    ProviderOut,
    RecoveryCodes,
    RefreshRequest,
    SessionOut,
    SignupRequest,
    TokenPair,
    TotpCodeRequest,
    TotpEnrollment,
)
from wealist_plugins.auth.service import AuthService, Client

from wealist_core import Principal
from wealist_core.http import Controller, Page, delete, get, post

__all__ = ["AuthRoutes"]


def _client(request: Request) -> Client:
    return Client(
        ip=request.client.host if request.client else None, user_agent=request.headers.get("user-agent")
    )


# Tokens, secrets and recovery codes are never kept by a browser or a proxy cache (RFC 6749 section 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class AuthRoutes(Controller):
    """Every route of the plugin. Handlers take the ``Principal`` itself (not only the user id): logout
    revokes the very token and session that made the request."""

    path = "/api/auth"
    tags = ("auth",)

    def __init__(self, service: AuthService, flow: OidcFlow, keys: KeyRing) -> None:
        self.service = service
        self.flow = flow
        self.keys = keys

    @post("/signup", status=201, auth=False, errors=(409, 429), headers=NO_STORE)
    async def signup(self, body: SignupRequest, request: Request) -> TokenPair:
        """Create an account with an email and a password; answers a token pair."""
        return await self.service.signup(body.email, body.password, body.name, body.locale, _client(request))

    @post("/login", auth=False, errors=(401, 429), headers=NO_STORE)
    async def login(self, body: LoginRequest, request: Request) -> TokenPair:
        """Sign in with an email and a password (and a TOTP or recovery code when two-factor is on)."""
        return await self.service.login(body.email, body.password, body.totp_code, _client(request))

    @post("/refresh", auth=False, errors=(401, 429), headers=NO_STORE)
    async def refresh(self, body: RefreshRequest, request: Request) -> TokenPair:
        """Exchange a refresh token for a new pair; reusing a rotated one revokes its session."""
        return await self.service.refresh(body.refresh_token, _client(request))

    @post("/logout")
    async def logout(self, body: LogoutRequest, principal: Principal) -> None:
        """Sign out: this access token and its session stop working at once, in every process."""
        await self.service.logout(principal, body.refresh_token)

    @post("/logout-all")
    async def logout_all(self, principal: Principal) -> None:
        """Sign out everywhere: every session of the user ends."""
        await self.service.logout_all(principal)

    @get("/sessions")
    async def list_sessions(self, principal: Principal) -> Page[SessionOut]:
        """The user's sessions: device, IP, creation and last use."""
        return Page[SessionOut](items=await self.service.list_sessions(principal), next_cursor=None)

    @delete("/sessions/{sessionId}", errors=(404,))
    async def delete_session(self, sessionId: uuid.UUID, principal: Principal) -> None:
        """End one of your sessions."""
        await self.service.revoke_session(principal, sessionId)

    @post("/password", errors=(403, 409, 429))
    async def change_password(self, body: PasswordChangeRequest, principal: Principal) -> None:
        """Change your password; your other sessions end."""
        await self.service.change_password(principal, body.current_password, body.new_password)

    @post("/totp/enroll", errors=(409,), headers=NO_STORE)
    async def totp_enroll(self, principal: Principal) -> TotpEnrollment:
        """Start turning on two-factor sign-in: a secret and its otpauth:// URI (for a QR code)."""
        return await self.service.totp_enroll(principal)

    @post("/totp/confirm", errors=(403, 409, 429), headers=NO_STORE)
    async def totp_confirm(self, body: TotpCodeRequest, principal: Principal) -> RecoveryCodes:
        """Finish turning on two-factor sign-in with a first code; answers single-use recovery codes."""
        return await self.service.totp_confirm(principal, body.code)

    @delete("/totp", errors=(403, 409, 429))
    async def totp_disable(self, body: TotpCodeRequest, principal: Principal) -> None:
        """Turn two-factor sign-in off, with a current code or a recovery code."""
        await self.service.totp_disable(principal, body.code)

    @get("/providers", auth=False)
    async def providers(self) -> list[ProviderOut]:
        """The configured OpenID Connect providers."""
        return self.flow.list()

    @get("/oidc/{provider}/login", status=302, auth=False, errors=(404,))
    async def oidc_login(self, provider: str) -> Response:
        """Start signing in with a provider: redirects the browser there."""
        return await self.flow.login(provider)

    @get("/oidc/{provider}/callback", status=302, auth=False, errors=(404,))
    async def oidc_callback(self, provider: str, request: Request) -> Response:
        """Where the provider sends the browser back; redirects to the app with a one-time code."""
        return await self.flow.callback(provider, request)

    @post("/oidc/exchange", auth=False, errors=(401, 429), headers=NO_STORE)
    async def oidc_exchange(self, body: OidcExchangeRequest, request: Request) -> TokenPair:
        """Exchange the one-time code of an OpenID Connect sign-in for a token pair."""
        return await self.flow.exchange(body.code, body.totp_code, _client(request))

    @get("/.well-known/jwks.json", auth=False, headers={"Cache-Control": "public, max-age=60"})
    async def jwks(self) -> Jwks:
        """The public keys that verify access tokens (JWKS), the current one and those still needed."""
        return Jwks.model_validate(await self.keys.jwks())
