"""The routes of ``/api/auth``: parse, call the service, render."""

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
from wealist_core.http import ApiRoute, Page, render

__all__ = ["auth_routes"]

P = "/api/auth"
TAGS = ("auth",)


def _client(request: Request) -> Client:
    return Client(
        ip=request.client.host if request.client else None, user_agent=request.headers.get("user-agent")
    )


def auth_routes(service: AuthService, flow: OidcFlow, keys: KeyRing) -> list[ApiRoute]:
    """Every route of the plugin, bound to its configured objects."""

    async def signup(body: SignupRequest, request: Request) -> TokenPair:
        """Create an account with an email and a password; answers a token pair."""
        return await service.signup(body.email, body.password, body.name, body.locale, _client(request))

    async def login(body: LoginRequest, request: Request) -> TokenPair:
        """Sign in with an email and a password (and a TOTP or recovery code when two-factor is on)."""
        return await service.login(body.email, body.password, body.totp_code, _client(request))

    async def refresh(body: RefreshRequest, request: Request) -> TokenPair:
        """Exchange a refresh token for a new pair; reusing a rotated one revokes its session."""
        return await service.refresh(body.refresh_token, _client(request))

    async def logout(body: LogoutRequest, principal: Principal) -> None:
        """Sign out: this access token and its session stop working at once, in every process."""
        await service.logout(principal, body.refresh_token)

    async def logout_all(principal: Principal) -> None:
        """Sign out everywhere: every session of the user ends."""
        await service.logout_all(principal)

    async def list_sessions(principal: Principal) -> Page[SessionOut]:
        """The user's sessions: device, IP, creation and last use."""
        return Page[SessionOut](items=await service.list_sessions(principal), next_cursor=None)

    async def delete_session(sessionId: uuid.UUID, principal: Principal) -> None:
        """End one of your sessions."""
        await service.revoke_session(principal, sessionId)

    async def change_password(body: PasswordChangeRequest, principal: Principal) -> None:
        """Change your password; your other sessions end."""
        await service.change_password(principal, body.current_password, body.new_password)

    async def totp_enroll(principal: Principal) -> TotpEnrollment:
        """Start turning on two-factor sign-in: a secret and its otpauth:// URI (for a QR code)."""
        return await service.totp_enroll(principal)

    async def totp_confirm(body: TotpCodeRequest, principal: Principal) -> RecoveryCodes:
        """Finish turning on two-factor sign-in with a first code; answers single-use recovery codes."""
        return await service.totp_confirm(principal, body.code)

    async def totp_disable(body: TotpCodeRequest, principal: Principal) -> None:
        """Turn two-factor sign-in off, with a current code or a recovery code."""
        await service.totp_disable(principal, body.code)

    async def providers() -> list[ProviderOut]:
        """The configured OpenID Connect providers."""
        return flow.list()

    async def oidc_login(provider: str) -> Response:
        """Start signing in with a provider: redirects the browser there."""
        return await flow.login(provider)

    async def oidc_callback(provider: str, request: Request) -> Response:
        """Where the provider sends the browser back; redirects to the app with a one-time code."""
        return await flow.callback(provider, request)

    async def oidc_exchange(body: OidcExchangeRequest, request: Request) -> TokenPair:
        """Exchange the one-time code of an OpenID Connect sign-in for a token pair."""
        return await flow.exchange(body.code, body.totp_code, _client(request))

    async def jwks() -> Response:
        """The public keys that verify access tokens (JWKS), the current one and those still needed."""
        response = render(Jwks.model_validate(await keys.jwks()))
        response.headers["Cache-Control"] = "public, max-age=60"
        return response

    return [
        ApiRoute(
            f"{P}/signup",
            signup,
            methods=["POST"],
            body=SignupRequest,
            response=TokenPair,
            status_code=201,
            auth=False,
            tags=TAGS,
            errors=[409, 429],
        ),
        ApiRoute(
            f"{P}/login",
            login,
            methods=["POST"],
            body=LoginRequest,
            response=TokenPair,
            auth=False,
            tags=TAGS,
            errors=[401, 429],
        ),
        ApiRoute(
            f"{P}/refresh",
            refresh,
            methods=["POST"],
            body=RefreshRequest,
            response=TokenPair,
            auth=False,
            tags=TAGS,
            errors=[401, 429],
        ),
        ApiRoute(f"{P}/logout", logout, methods=["POST"], body=LogoutRequest, tags=TAGS),
        ApiRoute(f"{P}/logout-all", logout_all, methods=["POST"], tags=TAGS),
        ApiRoute(f"{P}/sessions", list_sessions, response=Page[SessionOut], tags=TAGS),
        ApiRoute(
            f"{P}/sessions/{{sessionId:uuid}}", delete_session, methods=["DELETE"], tags=TAGS, errors=[404]
        ),
        ApiRoute(
            f"{P}/password",
            change_password,
            methods=["POST"],
            body=PasswordChangeRequest,
            tags=TAGS,
            errors=[403, 409, 429],
        ),
        ApiRoute(
            f"{P}/totp/enroll",
            totp_enroll,
            methods=["POST"],
            response=TotpEnrollment,
            tags=TAGS,
            errors=[409],
        ),
        ApiRoute(
            f"{P}/totp/confirm",
            totp_confirm,
            methods=["POST"],
            body=TotpCodeRequest,
            response=RecoveryCodes,
            tags=TAGS,
            errors=[403, 409, 429],
        ),
        ApiRoute(
            f"{P}/totp",
            totp_disable,
            methods=["DELETE"],
            body=TotpCodeRequest,
            tags=TAGS,
            errors=[403, 409, 429],
        ),
        ApiRoute(f"{P}/providers", providers, response=list[ProviderOut], auth=False, tags=TAGS),
        ApiRoute(
            f"{P}/oidc/{{provider}}/login", oidc_login, status_code=302, auth=False, tags=TAGS, errors=[404]
        ),
        ApiRoute(
            f"{P}/oidc/{{provider}}/callback",
            oidc_callback,
            status_code=302,
            auth=False,
            tags=TAGS,
            errors=[404],
        ),
        ApiRoute(
            f"{P}/oidc/exchange",
            oidc_exchange,
            methods=["POST"],
            body=OidcExchangeRequest,
            response=TokenPair,
            auth=False,
            tags=TAGS,
            errors=[401, 429],
        ),
        ApiRoute(f"{P}/.well-known/jwks.json", jwks, response=Jwks, auth=False, tags=TAGS),
    ]
