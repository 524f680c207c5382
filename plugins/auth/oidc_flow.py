"""The OpenID Connect sign-in flow: login redirect, callback, one-time code, exchange for tokens.

1. ``GET /api/auth/oidc/{provider}/login`` stores ``state``, ``nonce`` and the PKCE verifier in the
   key-value store (with a TTL) and sends the browser to the provider. A random cookie, whose hash is
   stored with the state, binds the flow to this browser (RFC 6749 section 10.12: without it, an attacker
   could complete a sign-in into *their* account in the victim's browser).
2. ``GET .../callback`` consumes the state (once), checks the cookie, exchanges the code, validates the ID
   token, finds or creates the account, and redirects the browser to the app with a one-time ``code``.
3. ``POST /api/auth/oidc/exchange {code}`` turns that code into a token pair, so tokens never appear in
   a URL. When the account has TOTP on, the exchange also needs ``totpCode``.

Accounts are found by the provider's subject first, then by a *verified* email (an unverified one never
claims an existing account), else created in the user plugin's directory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import uuid
from urllib.parse import urlencode

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import RedirectResponse
from wealist_plugins.auth.models import Account, Identity
from wealist_plugins.auth.oidc import OidcError, OidcProvider, OidcUser
from wealist_plugins.auth.options import AuthOptions
from wealist_plugins.auth.repository import AuthRepository
from wealist_plugins.auth.schemas import ProviderOut, TokenPair
from wealist_plugins.auth.service import AuthService, Client

from wealist_core import Conflict, KeyValue, NotFound, Unauthorized, utcnow

__all__ = ["STATE_COOKIE", "OidcFlow"]

log = logging.getLogger("wealist.auth.oidc")

STATE_COOKIE = "wealist_oidc"
_COOKIE_PATH = "/api/auth/oidc"
_MAX_TOTP_ATTEMPTS = 5


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class OidcFlow:
    """Runs the three steps above for every configured provider."""

    def __init__(
        self,
        *,
        providers: dict[str, OidcProvider],
        kv: KeyValue,
        service: AuthService,
        settings: AuthOptions,
    ) -> None:
        self.providers = providers
        self._kv = kv
        self._service = service
        self._settings = settings

    def list(self) -> list[ProviderOut]:
        return [ProviderOut(id=p.config.id, name=p.config.name) for p in self.providers.values()]

    def _provider(self, provider_id: str) -> OidcProvider:
        provider = self.providers.get(provider_id)
        if provider is None:
            raise NotFound(f"No identity provider is called {provider_id!r}.", code="OIDC_PROVIDER_NOT_FOUND")
        return provider

    def _to_app(self, **params: str) -> RedirectResponse:
        target = self._settings.oidc_redirect_url
        separator = "&" if "?" in target else "?"
        response = RedirectResponse(f"{target}{separator}{urlencode(params)}", status_code=302)
        response.delete_cookie(STATE_COOKIE, path=_COOKIE_PATH)
        return response

    # ------------------------------------------------------------------------------------------------ login

    async def login(self, provider_id: str) -> RedirectResponse:
        provider = self._provider(provider_id)
        state, nonce, verifier, browser = (secrets.token_urlsafe(32) for _ in range(4))
        record = {"provider": provider.id, "nonce": nonce, "verifier": verifier, "browser": _digest(browser)}
        try:
            url = await provider.authorization_url(
                redirect_uri=self._settings.callback_url(provider.id),
                state=state,
                nonce=nonce,
                code_verifier=verifier,
            )
        except OidcError as exc:
            log.warning("OIDC login with %s failed: %s", provider.id, exc)
            return self._to_app(error=exc.code)
        await self._kv.set(f"oidc_state:{state}", json.dumps(record), ttl=self._settings.oidc_state_ttl)
        response = RedirectResponse(url, status_code=302)
        response.set_cookie(
            STATE_COOKIE,
            browser,
            max_age=self._settings.oidc_state_ttl,
            path=_COOKIE_PATH,
            httponly=True,
            samesite="lax",  # sent on the provider's top-level redirect back to us
            secure=self._settings.public_url.startswith("https://"),
        )
        return response

    # --------------------------------------------------------------------------------------------- callback

    async def callback(self, provider_id: str, request: Request) -> RedirectResponse:
        provider = self._provider(provider_id)
        params = request.query_params
        record = await self._consume_state(params.get("state", ""))
        if params.get("error"):
            # A refusal signs nobody in, so it is reported even when the provider dropped the state.
            return self._to_app(error="OIDC_DENIED")
        browser = request.cookies.get(STATE_COOKIE, "")
        if (
            record is None
            or record.get("provider") != provider.id
            or not hmac.compare_digest(_digest(browser), str(record.get("browser", "")))
        ):
            return self._to_app(error="OIDC_STATE_INVALID")
        if not params.get("code"):
            return self._to_app(error="OIDC_DENIED")
        try:
            user = await provider.authenticate(
                code=params["code"],
                redirect_uri=self._settings.callback_url(provider.id),
                code_verifier=record["verifier"],
                nonce=record["nonce"],
            )
            user_id = await self._account_for(provider.id, user)
        except OidcError as exc:
            log.warning("OIDC sign-in with %s refused: %s", provider.id, exc)
            return self._to_app(error=exc.code)
        code = secrets.token_urlsafe(32)
        payload = json.dumps({"userId": str(user_id), "provider": provider.id})
        await self._kv.set(f"oidc_code:{_digest(code)}", payload, ttl=self._settings.oidc_code_ttl)
        log.info("OIDC sign-in", extra={"user_id": str(user_id), "provider": provider.id})
        return self._to_app(code=code)

    async def _consume_state(self, state: str) -> dict[str, str] | None:
        if not state:
            return None
        key = f"oidc_state:{state}"
        raw = await self._kv.get(key)
        # Deleting is the claim: of two racing callbacks with the same state only one deletes the key.
        if raw is None or await self._kv.delete(key) == 0:
            return None
        data = json.loads(raw)
        return data if isinstance(data, dict) else None

    async def _account_for(self, provider_id: str, user: OidcUser) -> uuid.UUID:
        service = self._service
        async with service.database.unit_of_work() as uow:
            repo = AuthRepository(uow.session)
            identity = await repo.identity(provider_id, user.subject)
            if identity is not None:
                identity.last_sign_in_at = utcnow()
                return identity.user_id
            account = await repo.account_by_email(user.email) if user.email else None
        if not user.email:
            raise OidcError("the provider shares no email address", code="OIDC_EMAIL_REQUIRED")
        existing = account.user_id if account is not None else None
        if existing is None:
            found = await service.directory.find_user_by_email(user.email)
            existing = found.user_id if found is not None else None
        if existing is not None and not user.email_verified:
            raise OidcError(
                "an unverified email cannot claim an existing account", code="OIDC_ACCOUNT_EXISTS"
            )
        if existing is None:
            existing = uuid.uuid4()
            name = (user.name or user.email.partition("@")[0]).strip()[:100] or user.email
            try:
                await service.directory.create_user(existing, user.email, name)
            except Conflict as exc:  # created meanwhile by a sign-up with the same email
                raise OidcError("the email was taken meanwhile", code="OIDC_ACCOUNT_EXISTS") from exc
        await self._link(provider_id, user, existing)
        return existing

    async def _link(self, provider_id: str, user: OidcUser, user_id: uuid.UUID) -> None:
        try:
            async with self._service.database.unit_of_work() as uow:
                repo = AuthRepository(uow.session)
                if await repo.account(user_id) is None:
                    await repo.add_account(
                        Account(user_id=user_id, email=user.email or "", password_hash=None)
                    )
                await repo.add_identity(
                    Identity(
                        provider=provider_id,
                        subject=user.subject,
                        user_id=user_id,
                        email=user.email,
                        last_sign_in_at=utcnow(),
                    )
                )
        except IntegrityError as exc:  # the same first sign-in, twice at once: the other one linked it
            log.info("identity %s/%s linked concurrently", provider_id, user.subject, exc_info=exc)
        log.info("linked identity", extra={"user_id": str(user_id), "provider": provider_id})

    # --------------------------------------------------------------------------------------------- exchange

    async def exchange(self, code: str, totp_code: str | None, client: Client) -> TokenPair:
        service = self._service
        await service.limits.exchange(client.ip)
        key = f"oidc_code:{_digest(code)}"
        raw = await self._kv.get(key)
        if raw is None:
            raise Unauthorized("The sign-in code is invalid, expired or used.")
        user_id = uuid.UUID(json.loads(raw)["userId"])
        amr = ["oidc"]
        if await service.has_second_factor(user_id):
            if totp_code:
                await service.limits.second_factor(str(user_id))
            try:
                await service.require_second_factor(user_id, totp_code)
            except Unauthorized as exc:
                if exc.code == "TOTP_INVALID":
                    attempts = await self._kv.incr(f"{key}:attempts", ttl=self._settings.oidc_code_ttl)
                    if attempts >= _MAX_TOTP_ATTEMPTS:
                        await self._kv.delete(key)
                raise
            amr.append("otp")
        if await self._kv.delete(key) == 0:
            raise Unauthorized("The sign-in code is invalid, expired or used.")
        return await service.start_session(user_id, client, amr=amr)
