"""OpenID Connect providers: discovery, the authorization URL, the code exchange and the ID token.

The protocol pieces are authlib's: the authorization request (with PKCE), the token request and its
client authentication, and the OpenID rules for ID-token claims (``nonce``, ``azp``, ``at_hash``). The HTTP
goes through the process's own httpx client (authlib's httpx integration is deprecated in authlib 1.9),
and the ID token's signature is checked with PyJWT against the provider's JWKS, with an algorithm
allow-list taken from the provider's metadata (never ``none`` or HMAC).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from wealist_plugins.auth.options import OidcProviderConfig

__all__ = ["OidcError", "OidcProvider", "OidcUser"]

# Asymmetric algorithms only: with an HMAC algorithm the "key" would be the client secret, and "none" is
# no signature at all.
_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_METADATA_TTL = 3600.0
_LEEWAY = 120


class OidcError(Exception):
    """The provider or its answer cannot be trusted; ``code`` is sent to the app (no details leak)."""

    def __init__(self, message: str, code: str = "OIDC_FAILED") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class OidcUser:
    """Who the provider says signed in."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    locale: str | None


def _verified(value: Any) -> bool:
    # Some providers send the string "true" (older Cognito, some Azure setups).
    return value is True or (isinstance(value, str) and value.lower() == "true")


class OidcProvider:
    """One configured provider; metadata and keys are fetched when first needed, then cached."""

    def __init__(self, config: OidcProviderConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self._http = http
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._jwks: jwt.PyJWKSet | None = None
        self._lock = asyncio.Lock()

    @property
    def id(self) -> str:
        return self.config.id

    async def metadata(self) -> dict[str, Any]:
        async with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > _METADATA_TTL:
                url = f"{self.config.issuer}/.well-known/openid-configuration"
                data = await self._get_json(url)
                if str(data.get("issuer", "")).rstrip("/") != self.config.issuer:
                    raise OidcError(
                        f"{url} names the issuer {data.get('issuer')!r}, not {self.config.issuer!r}"
                    )
                missing = [
                    k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not data.get(k)
                ]
                if missing:
                    raise OidcError(f"{url} lacks {', '.join(missing)}")
                self._metadata, self._metadata_at, self._jwks = data, time.monotonic(), None
            return self._metadata

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"{url} cannot be read: {exc}", code="OIDC_UNAVAILABLE") from exc
        if not isinstance(data, dict):
            raise OidcError(f"{url} is not a JSON object")
        return data

    async def authorization_url(
        self, *, redirect_uri: str, state: str, nonce: str, code_verifier: str
    ) -> str:
        endpoint = (await self.metadata())["authorization_endpoint"]
        url: str = prepare_grant_uri(
            endpoint,
            client_id=self.config.client_id,
            response_type="code",
            redirect_uri=redirect_uri,
            scope=self.config.scopes,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(code_verifier),
            code_challenge_method="S256",
        )
        return url

    async def authenticate(self, *, code: str, redirect_uri: str, code_verifier: str, nonce: str) -> OidcUser:
        """Exchange the authorization code and validate the ID token it brings."""
        token = await self._fetch_token(code=code, redirect_uri=redirect_uri, code_verifier=code_verifier)
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the provider answered without an ID token")
        claims = await self._validate(id_token, nonce=nonce, access_token=token.get("access_token"))
        email = claims.get("email")
        return OidcUser(
            subject=str(claims["sub"]),
            email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
            email_verified=_verified(claims.get("email_verified")),
            name=claims.get("name") if isinstance(claims.get("name"), str) else None,
            locale=claims.get("locale") if isinstance(claims.get("locale"), str) else None,
        )

    async def _fetch_token(self, *, code: str, redirect_uri: str, code_verifier: str) -> dict[str, Any]:
        url = (await self.metadata())["token_endpoint"]
        body = prepare_token_request(
            "authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        url, headers, body = ClientAuth(self.config.client_id, self.config.client_secret).prepare(
            "POST", url, headers, body
        )
        try:
            response = await self._http.post(url, content=body, headers=headers)
            token = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"the code exchange failed: {exc}", code="OIDC_EXCHANGE_FAILED") from exc
        if response.status_code != 200 or not isinstance(token, dict) or "error" in token:
            error = token.get("error") if isinstance(token, dict) else None
            raise OidcError(
                f"the code exchange failed: {response.status_code} {error or ''}".strip(),
                code="OIDC_EXCHANGE_FAILED",
            )
        return token

    async def _validate(self, id_token: str, *, nonce: str, access_token: Any) -> dict[str, Any]:
        metadata = await self.metadata()
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise OidcError(f"the ID token is malformed: {exc}") from exc
        advertised = set(metadata.get("id_token_signing_alg_values_supported") or ["RS256"])
        algorithm = header.get("alg")
        if algorithm not in advertised & _ALGORITHMS:
            raise OidcError(f"the ID token's algorithm {algorithm!r} is not accepted")
        key = await self._key(header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=[str(algorithm)],
                audience=self.config.client_id,
                issuer=self.config.issuer,
                leeway=_LEEWAY,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.PyJWTError as exc:
            raise OidcError(f"the ID token is invalid: {exc}") from exc
        params: dict[str, Any] = {"nonce": nonce, "client_id": self.config.client_id}
        if isinstance(access_token, str):
            params["access_token"] = access_token
        try:
            CodeIDToken(claims, header, None, params).validate(now=int(time.time()), leeway=_LEEWAY)
        except Exception as exc:  # authlib raises joserfc's claim errors; any of them means "reject"
            raise OidcError(f"the ID token fails OpenID rules: {exc}") from exc
        if not claims.get("nonce"):
            raise OidcError("the ID token carries no nonce")
        return claims

    async def _key(self, kid: Any) -> Any:
        for attempt in range(2):
            if self._jwks is None or attempt:
                document = await self._get_json((await self.metadata())["jwks_uri"])
                try:
                    self._jwks = jwt.PyJWKSet.from_dict(document)
                except jwt.PyJWTError as exc:
                    raise OidcError(f"the provider's JWKS cannot be read: {exc}") from exc
            for jwk in self._jwks.keys:
                if kid is None or jwk.key_id == kid:
                    return jwk.key
        raise OidcError("the ID token is signed by a key the provider does not publish")
