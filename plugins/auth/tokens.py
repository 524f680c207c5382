"""Access tokens: minting them (auth) and verifying them (every process).

An access token is a short-lived EdDSA JWT whose header names its key (``kid``) and whose claims are
``iss``, ``aud``, ``sub`` (the user id), ``sid`` (the session), ``jti``, ``iat`` and ``exp``. Verification
trusts nothing in the token before the signature checks out: the algorithm must be EdDSA (never ``none``,
never an HMAC keyed with a public key), the key is looked up by ``kid`` in the JWKS, then issuer, audience
and expiry are checked, then the key-value store: ``blacklist:{jti}`` (one token, written at logout) and
``session_revoked:{sid}`` (every token of a revoked session) must be absent, and the session's own record
``refresh_token:{sub}:{sid}`` present. The last rule fails closed: a store that lost its data (a Redis
restarted empty) holds no record of any session, so no token issued before is accepted again, whatever
revocations were lost with it; and a store that cannot answer is a 503, never a pass.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from wealist_plugins.auth.keys import ALGORITHM, KeyRing
from wealist_plugins.auth.options import TokenSettings

from wealist_core import KeyValue, Principal, ServiceUnavailable, Unauthorized

__all__ = [
    "DELETED_CLAIM",
    "AccessTokenVerifier",
    "IssuedToken",
    "JwksCache",
    "TokenIssuer",
    "blacklist_key",
    "session_key",
    "session_revoked_key",
]

log = logging.getLogger("wealist.auth.tokens")

_REQUIRED = ["iss", "aud", "sub", "sid", "jti", "iat", "exp"]

#: The claim marking a token issued to a deleted account: only the restore route accepts it.
DELETED_CLAIM = "deleted"


def blacklist_key(jti: str) -> str:
    """The key-value key that revokes one access token (in auth's ``auth:`` key space)."""
    return f"blacklist:{jti}"


def session_key(user_id: str, session_id: str) -> str:
    """The key-value key of a live session's record (deleted when the session is revoked or expires)."""
    return f"refresh_token:{user_id}:{session_id}"


#: How many times the session's record is named in the verifier's one ``count_existing``: a live session
#: with no revocation counts exactly this, anything else another number.
_LIVE_WEIGHT = 3


def session_revoked_key(session_id: str) -> str:
    """The key-value key that revokes every access token of one session."""
    return f"session_revoked:{session_id}"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: str
    expires_in: int
    expires_at: float


class TokenIssuer:
    """Signs access tokens with the key ring's current key."""

    def __init__(
        self, keys: KeyRing, settings: TokenSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._keys = keys
        self._settings = settings
        self._clock = clock

    async def issue(
        self, user_id: str, session_id: str, *, amr: list[str] | None = None, deleted: bool = False
    ) -> IssuedToken:
        """A signed access token; ``deleted`` marks one issued to a deleted account (``"deleted": true``),
        which every route but restoring the account refuses."""
        key = await self._keys.signing_key()
        now = int(self._clock())
        ttl = self._settings.access_ttl
        jti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "iss": self._settings.issuer,
            "aud": self._settings.audience,
            "sub": user_id,
            "sid": session_id,
            "jti": jti,
            "iat": now,
            "exp": now + ttl,
        }
        if amr:
            claims["amr"] = amr
        if deleted:
            claims[DELETED_CLAIM] = True
        token = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
        return IssuedToken(token=token, jti=jti, expires_in=ttl, expires_at=float(now + ttl))


# ------------------------------------------------------------------------------------------- verification

JwksFetch = Callable[[bool], Awaitable[Mapping[str, Any]]]


class JwksCache:
    """Public keys by ``kid``, from a JWKS fetched in process (auth's key ring) or over HTTP (auth's peer).

    The set is refetched when it is older than ``ttl`` and when a token names an unknown ``kid`` (a key
    rotated in since), at most once per ``refetch_interval`` so a flood of forged kids cannot turn into a
    flood of fetches.
    """

    def __init__(
        self,
        fetch: JwksFetch,
        *,
        ttl: float,
        refetch_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._refetch_interval = refetch_interval
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self.fetches = 0  # how many times the set was fetched (observable in tests and metrics)

    async def key(self, kid: str) -> Any | None:
        if self._clock() - self._fetched_at >= self._ttl:
            await self._load(refresh=False, since=self._fetched_at)
        key = self._keys.get(kid)
        if key is None and self._clock() - self._fetched_at >= self._refetch_interval:
            await self._load(refresh=True, since=self._fetched_at)
            key = self._keys.get(kid)
        return key

    async def _load(self, *, refresh: bool, since: float) -> None:
        async with self._lock:
            if self._fetched_at != since:  # another request fetched while this one waited
                return
            try:
                document = await self._fetch(refresh)
            except Exception as exc:  # any transport or decoding failure of the fetch
                self._fetched_at = self._clock()  # do not hammer a peer that is down
                if not self._keys:
                    raise ServiceUnavailable(
                        "Access tokens cannot be verified: the auth service's keys are unreachable.",
                        code="AUTH_UNAVAILABLE",
                    ) from exc
                log.warning("fetching the JWKS failed (%s); keeping the %d keys known", exc, len(self._keys))
                return
            self._keys = _parse_jwks(document)
            self._fetched_at = self._clock()
            self.fetches += 1


def _parse_jwks(document: Mapping[str, Any]) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for jwk in document.get("keys", ()):
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        if jwk.get("alg", ALGORITHM) != ALGORITHM or not isinstance(jwk.get("kid"), str):
            continue
        try:
            keys[jwk["kid"]] = jwt.PyJWK(dict(jwk), algorithm=ALGORITHM).key
        except jwt.PyJWTError:
            log.warning("ignoring an unreadable key %s in the JWKS", jwk.get("kid"))
    return keys


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header alone (to pick the key by ``kid``): jwt.decode checks everything afterwards. Cheaper
    than ``jwt.get_unverified_header``, which decodes the payload and signature too, on every request."""
    head, dot, rest = token.partition(".")
    if not dot or rest.count(".") != 1:
        raise _invalid("it is not a well-formed JWT")
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise _invalid("it is not a well-formed JWT") from None
    if not isinstance(header, dict):
        raise _invalid("it is not a well-formed JWT")
    return header


class AccessTokenVerifier:
    """Turns an access token into a :class:`Principal`, or raises ``Unauthorized`` saying why not."""

    def __init__(self, keys: JwksCache, revocations: KeyValue, settings: TokenSettings) -> None:
        self._keys = keys
        self._revocations = revocations
        self._settings = settings

    async def verify(self, token: str) -> Principal:
        header = _unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise _invalid(f"its algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _invalid("it names no key")
        key = await self._keys.key(kid)
        if key is None:
            raise _invalid("it was signed by an unknown key")
        settings = self._settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=settings.audience,
                issuer=settings.issuer,
                leeway=settings.leeway,
                options={"require": _REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The access token has expired; refresh it.") from None
        except jwt.PyJWTError as exc:
            raise _invalid(str(exc).rstrip(".").lower() or type(exc).__name__) from None
        jti, sid, sub = claims["jti"], claims["sid"], claims["sub"]
        if not all(isinstance(value, str) and value for value in (jti, sid, sub)):
            raise _invalid("its sub, sid or jti is not a string")
        # One round trip, as this runs on every authenticated request of every process: the session's record
        # is named three times (a key named twice counts twice), so the count is exactly 3 when the session
        # is live and neither revocation exists; without the record (revoked, expired, or lost with the
        # store's data) it is at most 2, and any revocation makes it more than 3.
        found = await self._revocations.count_existing(
            *([session_key(sub, sid)] * _LIVE_WEIGHT), blacklist_key(jti), session_revoked_key(sid)
        )
        if found != _LIVE_WEIGHT:
            raise Unauthorized("The access token has been revoked; sign in again.")
        return Principal(id=sub, session_id=sid, token_id=jti, expires_at=float(claims["exp"]), claims=claims)


def _invalid(reason: str) -> Unauthorized:
    return Unauthorized(f"The access token is invalid: {reason}.")
