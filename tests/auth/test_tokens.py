"""Access tokens: what they carry, and every way a forged, stale or revoked one is refused with a 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette

from tests.auth.support import assert_problem, auth_plugin, bearer, monolith, running, settings_for, signup


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def sign(app: Starlette, claims: dict[str, Any], **header: Any) -> str:
    """A token signed with the app's real current key (so only the altered part can make it fail)."""
    key = auth_plugin(app).keys.current()
    return jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, **header})


async def whoami(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/whoami", headers=bearer(token))


async def test_an_access_token_is_an_eddsa_jwt_with_kid_iss_aud_sub_jti_sid(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    pair = await signup(client)
    header = jwt.get_unverified_header(pair["accessToken"])
    claims = claims_of(pair["accessToken"])

    assert header["alg"] == "EdDSA" and header["kid"] == auth_plugin(app).keys.current().kid
    assert claims["sub"] == pair["userId"]
    assert claims["iss"] == "http://127.0.0.1:8000" and claims["aud"] == "wealist"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"] and claims["sid"]
    me = (await whoami(client, pair["accessToken"])).json()
    assert (me["sessionId"], me["tokenId"]) == (claims["sid"], claims["jti"])


async def test_the_jwks_publishes_public_keys_only(client: httpx.AsyncClient, app: Starlette) -> None:
    response = await client.get("/api/auth/.well-known/jwks.json")

    assert response.status_code == 200
    keys = response.json()["keys"]
    assert [k["kid"] for k in keys] == [auth_plugin(app).keys.current().kid]
    assert keys[0]["kty"] == "OKP" and keys[0]["crv"] == "Ed25519" and keys[0]["alg"] == "EdDSA"
    assert "d" not in keys[0]
    assert "max-age" in response.headers["cache-control"]


async def test_the_access_token_lifetime_comes_from_settings(settings_factory: Any) -> None:
    app = monolith(settings_for(settings_factory, {}, access_token_ttl="60", issuer="https://wealist.test"))
    async with running(app) as client:
        pair = await signup(client)
    claims = claims_of(pair["accessToken"])
    assert pair["expiresIn"] == 60 and claims["exp"] - claims["iat"] == 60
    assert claims["iss"] == "https://wealist.test"


async def test_an_expired_token_is_refused(client: httpx.AsyncClient, app: Starlette) -> None:
    claims = claims_of((await signup(client))["accessToken"])
    claims.update(iat=int(time.time()) - 3600, exp=int(time.time()) - 1800)

    body = assert_problem(await whoami(client, sign(app, claims)), 401, "UNAUTHORIZED")
    assert "expired" in body["detail"]


async def test_a_tampered_token_is_refused(client: httpx.AsyncClient) -> None:
    victim = await signup(client)
    attacker = await signup(client)
    header, payload, signature = attacker["accessToken"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = victim["userId"]
    forged = ".".join([header, b64(json.dumps(claims).encode()), signature])

    body = assert_problem(await whoami(client, forged), 401, "UNAUTHORIZED")
    assert "invalid" in body["detail"]


@pytest.mark.parametrize(("claim", "value"), [("aud", "another-app"), ("iss", "https://evil.example")])
async def test_a_token_for_another_audience_or_from_another_issuer_is_refused(
    local_client: httpx.AsyncClient, local_app: Starlette, claim: str, value: str
) -> None:
    claims = claims_of((await signup(local_client))["accessToken"])
    claims[claim] = value

    assert_problem(await whoami(local_client, sign(local_app, claims)), 401, "UNAUTHORIZED")


async def test_an_unsigned_alg_none_token_is_refused(
    local_client: httpx.AsyncClient, local_app: Starlette
) -> None:
    claims = claims_of((await signup(local_client))["accessToken"])
    header = {"alg": "none", "typ": "JWT", "kid": auth_plugin(local_app).keys.current().kid}
    unsigned = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."

    body = assert_problem(await whoami(local_client, unsigned), 401, "UNAUTHORIZED")
    assert "'none'" in body["detail"]


async def test_an_hs256_token_keyed_with_the_public_key_is_refused(
    local_client: httpx.AsyncClient, local_app: Starlette
) -> None:
    # The classic confusion attack: sign with HMAC using the (public) verification key as the secret.
    claims = claims_of((await signup(local_client))["accessToken"])
    jwk = (await local_client.get("/api/auth/.well-known/jwks.json")).json()["keys"][0]
    public = auth_plugin(local_app).keys.current().public_key
    for secret in (
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        jwk["x"].encode(),
    ):
        header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}).encode())
        payload = b64(json.dumps(claims).encode())
        mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        assert_problem(await whoami(local_client, f"{header}.{payload}.{b64(mac)}"), 401, "UNAUTHORIZED")


async def test_a_token_signed_by_an_unknown_key_is_refused(local_client: httpx.AsyncClient) -> None:
    claims = claims_of((await signup(local_client))["accessToken"])
    stranger = Ed25519PrivateKey.generate()

    for headers in ({}, {"kid": "not-a-known-kid"}):
        token = jwt.encode(claims, stranger, algorithm="EdDSA", headers=headers)
        assert_problem(await whoami(local_client, token), 401, "UNAUTHORIZED")


async def test_a_token_signed_by_a_foreign_key_under_the_real_kid_is_refused(
    local_client: httpx.AsyncClient, local_app: Starlette
) -> None:
    claims = claims_of((await signup(local_client))["accessToken"])
    kid = auth_plugin(local_app).keys.current().kid
    token = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid})

    body = assert_problem(await whoami(local_client, token), 401, "UNAUTHORIZED")
    assert "signature" in body["detail"]


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "eyJhbGciOiJFZERTQSJ9.e30."])
async def test_malformed_tokens_are_refused(local_client: httpx.AsyncClient, token: str) -> None:
    response = await local_client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, "UNAUTHORIZED")


async def test_without_a_bearer_token_a_route_asks_to_sign_in(local_client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Basic YWRhOnNlY3JldA=="}):
        body = assert_problem(await local_client.get("/api/whoami", headers=headers), 401, "UNAUTHORIZED")
        assert "Sign in" in body["detail"]


async def test_a_revoked_token_is_refused_at_once(client: httpx.AsyncClient) -> None:
    pair = await signup(client)
    assert (await whoami(client, pair["accessToken"])).status_code == 200

    assert (
        await client.post("/api/auth/logout", headers=bearer(pair["accessToken"]), json={})
    ).status_code == 204

    body = assert_problem(await whoami(client, pair["accessToken"]), 401, "UNAUTHORIZED")
    assert "revoked" in body["detail"]
