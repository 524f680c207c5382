"""``GET /api/users/me`` by hand: the floor the Wealist host is compared with in ``users_me.py``.

Starlette, one route, no framework of ours, doing the work the host does for that request and nothing
less (read ``plugins/auth/verifier.py``, ``plugins/auth/tokens.py`` and the user plugin's ``me``):

1. the ``Authorization: Bearer`` token is an EdDSA JWT whose ``kid`` names a key of the JWKS fetched once
   at start-up from the host; signature, issuer, audience, expiry (with the same leeway) and the presence
   of every claim the verifier requires are checked by PyJWT;
2. the token is not revoked: neither ``auth:blacklist:{jti}`` nor ``auth:session_revoked:{sid}`` exists in
   Redis (both keys the verifier reads, asked in one ``EXISTS``: one round trip, as hand-written code would;
   the verifier makes two, the ``KeyValue`` port asking one key at a time);
3. the user row and their default workspace (if they still belong to it and it is live) are read with the
   same SQL as ``UserRepository.user_with_default``, through an asyncpg pool (prepared statements cached);
4. the answer is the host's ``UserOut`` JSON, byte for byte (camelCase, ``Z`` times); 401 and 403 as the
   host answers them (without the problem+json details).

Configured by the ``BENCH_*`` variables ``users_me.py`` sets; served by ``_servers.py users_me_bare``.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.request
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import jwt
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["PATH", "QUERY", "app"]

PATH = "/api/users/me"
ALGORITHM = "EdDSA"
REQUIRED = ["iss", "aud", "sub", "sid", "jti", "iat", "exp"]  # as plugins/auth/tokens.py

# UserRepository.user_with_default, as SQLAlchemy renders it (every column of the user, then the workspace).
QUERY = """
SELECT u.id, u.email, u.name, u.locale, u.default_workspace_id, u.created_at, u.updated_at, u.deleted_at,
       w.id AS default_id
FROM user_user AS u
LEFT OUTER JOIN user_member AS m ON m.user_id = u.id AND m.workspace_id = u.default_workspace_id
LEFT OUTER JOIN user_workspace AS w ON w.id = m.workspace_id AND w.deleted_at IS NULL
WHERE u.id = $1
"""


def _jwks(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5.0) as response:  # loopback only
        document = json.loads(response.read())
    return {jwk["kid"]: jwt.PyJWK(jwk, algorithm=ALGORITHM).key for jwk in document["keys"]}


def _time(value: Any) -> str:
    # asyncpg gives aware UTC datetimes; pydantic writes UTC as "Z".
    return str(value.isoformat()).replace("+00:00", "Z")


def app() -> Starlette:
    env = os.environ
    issuer = env["BENCH_ISSUER"]
    audience = env["BENCH_AUDIENCE"]
    leeway = int(env["BENCH_LEEWAY"])
    prefix = env.get("BENCH_KEY_PREFIX", "auth:")
    state: dict[str, Any] = {}

    def unauthorized(detail: str) -> Response:
        return JSONResponse({"detail": detail}, status_code=401)

    async def me(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return unauthorized("no bearer token")
        try:
            header = jwt.get_unverified_header(token)
            key = state["keys"].get(header.get("kid")) if header.get("alg") == ALGORITHM else None
            if key is None:
                return unauthorized("unknown key")
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=issuer,
                leeway=leeway,
                options={"require": REQUIRED},
            )
        except jwt.PyJWTError as exc:
            return unauthorized(str(exc))
        revoked = await state["redis"].exists(
            f"{prefix}blacklist:{claims['jti']}", f"{prefix}session_revoked:{claims['sid']}"
        )
        if revoked:
            return unauthorized("revoked")
        try:
            user_id = uuid.UUID(claims["sub"])
        except (TypeError, ValueError):
            return unauthorized("not a user")
        row = await state["pool"].fetchrow(QUERY, user_id)
        if row is None:
            return unauthorized("no such user")
        if row["deleted_at"] is not None:
            return JSONResponse({"detail": "deleted"}, status_code=403)
        default = row["default_id"]
        return JSONResponse(
            {
                "userId": str(row["id"]),
                "email": row["email"],
                "name": row["name"],
                "locale": row["locale"],
                "defaultWorkspaceId": None if default is None else str(default),
                "createdAt": _time(row["created_at"]),
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        state["keys"] = _jwks(env["BENCH_JWKS_URL"])  # once: the key does not rotate during a run
        # The host's pool holds up to 10 connections (and 10 more on overflow): the same ceiling here.
        state["pool"] = await asyncpg.create_pool(env["BENCH_DATABASE_DSN"], min_size=1, max_size=10)
        state["redis"] = aioredis.Redis.from_url(env["BENCH_REDIS_URL"], decode_responses=True)
        try:
            yield
        finally:
            await state["redis"].aclose()
            await state["pool"].close()

    return Starlette(routes=[Route(PATH, me, methods=["GET"])], lifespan=lifespan)
